"""lamina's exceptions. ``ShapeError`` is both a RuntimeError (what PyTorch raises) and a ValueError."""


class ShapeError(RuntimeError, ValueError):
    """Operands have shapes the operation cannot combine; the message names the op, both shapes and the rule."""


def broadcast_error(op: str, a_shape, b_shape) -> ShapeError:
    a, b = tuple(a_shape), tuple(b_shape)
    for k in range(1, max(len(a), len(b)) + 1):
        da = a[-k] if k <= len(a) else 1
        db = b[-k] if k <= len(b) else 1
        if da != db and da != 1 and db != 1:
            return ShapeError(
                f"{op}: shapes {a} and {b} cannot be broadcast together: aligned from the right, "
                f"dim -{k} is {da} vs {db} (each pair of sizes must be equal or one of them 1)"
            )
    return ShapeError(f"{op}: shapes {a} and {b} cannot be broadcast together")
