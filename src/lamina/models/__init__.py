"""Ready-made models.

    MLP, XORNet                        mlp.py        (multilayer perceptrons; the 2-2-1 XOR network)
    LinearRegression, LogisticRegression   linear.py
    LeNet5                             lenet.py      ResNet / resnet18 / resnet34, WideResNet   resnet.py
    UNet                               unet.py       SmallCNN                                    small_cnn.py
    Word2Vec, KeyedVectors             word2vec.py   (word embeddings: skip-gram / CBOW, queries)
"""
from .lenet import *  # noqa: F401,F403
from .lenet import __all__ as _lenet
from .linear import *  # noqa: F401,F403
from .linear import __all__ as _linear
from .mlp import *  # noqa: F401,F403
from .mlp import __all__ as _mlp
from .resnet import *  # noqa: F401,F403
from .resnet import __all__ as _resnet
from .small_cnn import *  # noqa: F401,F403
from .small_cnn import __all__ as _small_cnn
from .unet import *  # noqa: F401,F403
from .unet import __all__ as _unet
from .word2vec import *  # noqa: F401,F403
from .word2vec import __all__ as _word2vec

__all__ = _mlp + _linear + _lenet + _resnet + _unet + _small_cnn + _word2vec
