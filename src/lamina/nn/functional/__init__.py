"""``lamina.nn.functional`` (import it as ``F``): stateless layers, activations, losses and metrics.

Same names and signatures as ``torch.nn.functional``; the modules in ``lamina.nn`` call these.
"""
from ...ops.shape import pad
from .activation import *
from .attention import *
from .conv import *
from .dropout import *
from .linear import *
from .loss import *
from .metrics import *
from .multi_head_attention import *
from .normalization import *
from .sparse import *
