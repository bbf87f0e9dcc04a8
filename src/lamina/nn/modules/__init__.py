"""The layers of ``lamina.nn``, one concept per file.

``__all__`` is written out (not summed from the files' lists) so that type checkers see every layer
through ``from .modules import *``; a test keeps it equal to the union of the files' ``__all__``.
"""
from .activation import *
from .container import *
from .conv import *
from .dropout import *
from .flatten import *
from .linear import *
from .loss import *
from .maxout import *
from .module import *
from .normalization import *
from .pooling import *
from .residual import *
from .sparse import *

__all__ = [
    # module, container
    "Module", "RemovableHandle", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    # linear
    "Identity", "Linear",
    # activation
    "Step", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "SiLU", "Swish", "Sine", "Softplus", "Softmax",
    "LogSoftmax", "Softmin", "GELU", "Hardtanh", "ReLU6", "LogSigmoid", "Softsign", "PReLU",
    # loss
    "MSELoss", "HalfMSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "HingeLoss", "BCELoss", "BCEWithLogitsLoss",
    "CrossEntropyLoss", "NLLLoss", "MultiLabelSoftMarginLoss",
    # normalization, dropout, sparse, flatten, maxout, residual
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "LocalResponseNorm", "Dropout", "Dropout1d", "Dropout2d",
    "AlphaDropout", "Embedding", "Flatten", "Unflatten", "Maxout", "Residual",
    # conv, pooling
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d",
]

# recurrent, attention, transformer, and the layers added with them
from .attention import *
from .bilinear import *
from .conv1d import *
from .distance import *
from .embedding_bag import *
from .fold import *
from .group_norm import *
from .loss_extra import *
from .padding import *
from .pool1d import *
from .rnn import *
from .shuffle import *
from .transformer import *

__all__ += ["RNNBase", "RNN", "GRU", "LSTM", "RNNCellBase", "RNNCell", "GRUCell", "LSTMCell"]
__all__ += ["MultiheadAttention", "NonDynamicallyQuantizableLinear", "TransformerEncoderLayer", "TransformerEncoder",
            "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]

__all__ += [
    "Mish", "Bilinear", "Conv1d", "CosineSimilarity", "PairwiseDistance", "Fold", "Unfold", "GroupNorm",
    "InstanceNorm1d", "InstanceNorm2d", "KLDivLoss", "TripletMarginLoss", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d",
    "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
    "CircularPad2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "PixelShuffle", "PixelUnshuffle", "EmbeddingBag",
]
