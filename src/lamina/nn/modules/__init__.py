"""The layers of ``lamina.nn``, one concept per file."""
import importlib as _importlib
import importlib.util as _util

from .activation import *  # noqa: F401,F403
from .activation import __all__ as _activation
from .container import *  # noqa: F401,F403
from .container import __all__ as _container
from .dropout import *  # noqa: F401,F403
from .dropout import __all__ as _dropout
from .flatten import *  # noqa: F401,F403
from .flatten import __all__ as _flatten
from .linear import *  # noqa: F401,F403
from .linear import __all__ as _linear
from .loss import *  # noqa: F401,F403
from .loss import __all__ as _loss
from .maxout import *  # noqa: F401,F403
from .maxout import __all__ as _maxout
from .module import *  # noqa: F401,F403
from .module import __all__ as _module
from .normalization import *  # noqa: F401,F403
from .normalization import __all__ as _normalization
from .residual import *  # noqa: F401,F403
from .residual import __all__ as _residual
from .sparse import *  # noqa: F401,F403
from .sparse import __all__ as _sparse

__all__ = (_module + _container + _linear + _activation + _loss + _normalization + _dropout + _sparse + _flatten
           + _maxout + _residual)

# Convolution, pooling and upsampling layers live in conv.py and pooling.py (written separately);
# they are exported here whenever those files are present.
for _name in ("conv", "pooling"):
    if _util.find_spec(f"{__name__}.{_name}") is not None:
        _mod = _importlib.import_module(f"{__name__}.{_name}")
        _names = list(getattr(_mod, "__all__", [n for n in vars(_mod) if not n.startswith("_")]))
        globals().update({n: getattr(_mod, n) for n in _names})
        __all__ = __all__ + [n for n in _names if n not in __all__]
