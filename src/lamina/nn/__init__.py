"""``lamina.nn``: modules, layers, activations, losses (``lamina.nn.functional`` as F) and initialisers
(``lamina.nn.init``), with PyTorch's names and behaviour."""
from . import functional, init, parallel, utils
from .modules import *
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Parameter

__all__ = ["Parameter", "functional", "init", "parallel", "utils", "DataParallel"] + list(_modules_all)
from . import attention

__all__ += ["attention"]
