"""Global autodiff switches, kept in one tiny module that imports nothing.

``grad_enabled``: reverse mode records a graph (``no_grad`` turns it off).
``fw_level``: >0 while a forward-mode (dual number) computation is active, so ops
only look for tangents when someone asked for them.
``inference``: inside ``inference_mode()`` (which also turns ``grad_enabled`` off).

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


class _Mode(threading.local):
    grad_enabled = True
    fw_level = 0
    inference = False
    vmap_sizes: tuple = ()
    vmap_randomness: tuple = ()


sys.modules[__name__] = cast(types.ModuleType, _Mode())
