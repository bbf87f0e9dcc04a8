"""Ready-made models.

    MLP, XORNet                        mlp.py        (multilayer perceptrons; the 2-2-1 XOR network)
    LinearRegression, LogisticRegression   linear.py
    LeNet5                             lenet.py      ResNet / resnet18 / resnet34, WideResNet   resnet.py
    UNet                               unet.py       SmallCNN                                    small_cnn.py
    Word2Vec, KeyedVectors             word2vec.py   (word embeddings: skip-gram / CBOW, queries)
"""
from .lenet import *
from .linear import *
from .mlp import *
from .resnet import *
from .small_cnn import *
from .unet import *
from .word2vec import *

# written out (not summed from the files' lists) so that type checkers see every name; a test keeps it
# equal to the union of the files' __all__
__all__ = ["MLP", "XORNet", "LinearRegression", "LogisticRegression", "LeNet5", "BasicBlock", "ResNet", "resnet18",
           "resnet34", "WideBasicBlock", "WideResNet", "wide_resnet", "UNet", "DoubleConv", "SmallCNN",
           "KeyedVectors", "Word2Vec"]
