"""The error every checkpoint reader raises."""


class CheckpointError(RuntimeError, ValueError):
    """A checkpoint file could not be read (truncated, corrupt, not safetensors) or an object cannot be saved."""
