"""Global autodiff switches, kept in one tiny module that imports nothing.

``grad_enabled``: reverse mode records a graph (``no_grad`` turns it off).
``fw_level``: >0 while a forward-mode (dual number) computation is active, so ops
only look for tangents when someone asked for them.
``inference``: inside ``inference_mode()`` (which also turns ``grad_enabled`` off).
``special``: True while a forward-mode level or a vmap level is active, so an op takes the path that
handles tangents and batched tensors (one test on the common path instead of one per feature).

Both are per thread, as in PyTorch: a thread inside ``no_grad`` (or running a backward
pass) does not stop another thread from recording its graph. The module replaces itself
with a ``threading.local`` object, so ``_mode.grad_enabled`` reads the calling thread's value.
"""
import sys
import threading
import types
from typing import cast

# what the module offers, for readers and type checkers; the thread-local object below serves it
grad_enabled: bool = True
fw_level: int = 0
inference: bool = False
vmap_sizes: tuple = ()  # the batch size of each active vmap level, outermost first (its level is index + 1)
vmap_randomness: tuple = ()  # each active vmap level's randomness ('error', 'different', 'same')
special: bool = False


def update_special() -> None:  # (served by the thread-local object's method of the same name)
    """``special`` from the forward-mode and vmap levels, after one of them changed."""


class _Mode(threading.local):
    grad_enabled = True
    fw_level = 0
    inference = False
    vmap_sizes: tuple = ()
    vmap_randomness: tuple = ()
    special = False

    def update_special(self) -> None:
        """``special`` from the forward-mode and vmap levels, after one of them changed."""
        self.special = bool(self.fw_level or self.vmap_sizes)


sys.modules[__name__] = cast(types.ModuleType, _Mode())
