"""``lamina.nn.functional`` (import it as ``F``): stateless layers, activations, losses and metrics.

Same names and signatures as ``torch.nn.functional``; the modules in ``lamina.nn`` call these.
"""
from ...ops.fold import fold, unfold
from ...ops.shape import pad
from .activation import *
from .adaptive_max import *
from .attention import *
from .conv import *
from .distance import *
from .dropout import *
from .embedding_bag import *
from .group_norm import *
from .linear import *
from .loss import *
from .loss_extra import *
from .metrics import *
from .multi_head_attention import *
from .normalization import *
from .pool1d import *
from .shuffle import *
from .sparse import *
