"""``lamina.nn.functional`` (import it as ``F``): stateless layers, activations, losses and metrics.

Same names and signatures as ``torch.nn.functional``; the modules in ``lamina.nn`` call these.
"""
from ...ops.shape import pad  # noqa: F401  (F.pad, as in PyTorch)
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
