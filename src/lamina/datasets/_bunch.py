"""``Bunch``: a dict whose keys are also attributes (what scikit-learn loaders return)."""

from __future__ import annotations

__all__ = ["Bunch"]


class Bunch(dict):
    """A ``dict`` with attribute access: ``b.data is b["data"]``."""

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"Bunch has no attribute {key!r}; keys are {sorted(self)}") from None

    def __setattr__(self, key: str, value) -> None:
        self[key] = value

    def __dir__(self):
        return [*super().__dir__(), *self.keys()]
