"""Ready-made models: MLP and the XOR network of seed 000 (mlp.py); the CNNs (LeNet-5, ResNet, Wide ResNet,
UNet) live in their own files and are exported here when present."""
import importlib as _importlib
import importlib.util as _util

from .mlp import MLP, XORNet

__all__ = ["MLP", "XORNet"]

from .linear import LinearRegression, LogisticRegression  # noqa: E402  (optim engineer)

__all__ += ["LinearRegression", "LogisticRegression"]

for _name in ("lenet", "resnet", "wrn", "wide_resnet", "unet", "small_cnn"):
    if _util.find_spec(f"{__name__}.{_name}") is not None:
        _mod = _importlib.import_module(f"{__name__}.{_name}")
        _names = list(getattr(_mod, "__all__", []))
        globals().update({n: getattr(_mod, n) for n in _names})
        __all__ += [n for n in _names if n not in __all__]
