"""The layers of ``lamina.nn``, one concept per file."""
from .activation import *  # noqa: F401,F403
from .activation import __all__ as _activation
from .container import *  # noqa: F401,F403
from .container import __all__ as _container
from .conv import *  # noqa: F401,F403
from .conv import __all__ as _conv
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
from .pooling import *  # noqa: F401,F403
from .pooling import __all__ as _pooling
from .residual import *  # noqa: F401,F403
from .residual import __all__ as _residual
from .sparse import *  # noqa: F401,F403
from .sparse import __all__ as _sparse

__all__ = (_module + _container + _linear + _activation + _loss + _normalization + _dropout + _sparse + _flatten
           + _maxout + _residual + _conv + _pooling)
