"""Models, optimizers and learning-rate schedules by name: the choices of ``lamina train`` and
``lamina tune`` (their trial objective builds each trial's run with these).

``cfg`` is a run configuration (``lamina.runs.RunConfig``: any object with its fields) and ``data``
the loaded data set (``X_train``, ``num_classes``).  A bad choice raises ``UserError``, whose
message the command line prints on one line.
"""
from __future__ import annotations

import numpy as np

from ..backend import manual_seed
from ..models import MLP, LeNet5, ResNet
from ..models.small_cnn import SmallCNN
from ..nn import Flatten, Linear, Sequential
from ..optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop
from ..optim import lr_scheduler as S

__all__ = ["UserError", "MODELS", "OPTIMIZERS", "SCHEDULES", "build_model", "build_optimizer", "build_scheduler"]

MODELS = ("cnn", "mlp", "lenet", "resnet", "logistic")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
SCHEDULES = ("none", "step", "exponential", "cosine", "inverse-time", "plateau", "warmup-cosine")


class UserError(Exception):
    """A mistake in the user's input: the CLI prints its message on one line and exits non-zero."""


def _mlp_widths(hidden) -> list[int]:
    try:
        return [int(h) for h in str(hidden).split(",") if h.strip()]
    except ValueError:
        raise UserError(f"hidden must be comma-separated layer widths like '256,128', got {hidden!r}") from None


def _lenet(cfg, data):
    side = data.X_train.shape[-1]
    if side < 12:
        raise UserError(f"LeNet-5 needs images of at least 12×12 pixels; {cfg.dataset} has {side}×{side} "
                        "(use --model cnn)")
    return LeNet5(data.num_classes, data.X_train.shape[1], input_size=side)


def _resnet(cfg, data):
    if cfg.width < 2:
        raise UserError(f"the resnet's stem has width // 2 channels: width must be >= 2, got {cfg.width}")
    return ResNet([1, 1, 1], num_classes=data.num_classes, in_channels=data.X_train.shape[1], stem="mnist",
                  width=cfg.width // 2)


def build_model(cfg, data):
    """``cfg.model`` (one of ``MODELS``) for ``data``'s inputs and classes, initialised from ``cfg.seed``."""
    manual_seed(cfg.seed)
    n_in = int(np.prod(data.X_train.shape[1:]))
    c = data.num_classes
    table = {
        "cnn": lambda: SmallCNN(c, data.X_train.shape[1], width=cfg.width, dropout=cfg.dropout),
        "mlp": lambda: MLP([n_in] + _mlp_widths(cfg.hidden) + [c], activation="relu", dropout=cfg.dropout),
        "logistic": lambda: Sequential(Flatten(), Linear(n_in, c)),
        "lenet": lambda: _lenet(cfg, data),
        "resnet": lambda: _resnet(cfg, data),
    }
    if cfg.model not in table:
        raise UserError(f"unknown model {cfg.model!r}; choose one of {', '.join(MODELS)}")
    return table[cfg.model]()


def build_optimizer(cfg, params):
    """``cfg.optimizer`` (one of ``OPTIMIZERS``) over ``params`` with ``cfg.lr``, ``cfg.weight_decay``
    and ``cfg.momentum``."""
    lr, wd = cfg.lr, cfg.weight_decay
    if not lr > 0:
        raise UserError(f"lr must be positive, got {lr}")
    table = {
        "sgd": lambda: SGD(params, lr=lr, weight_decay=wd),
        "momentum": lambda: SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=wd),
        "nesterov": lambda: SGD(params, lr=lr, momentum=cfg.momentum, nesterov=True, weight_decay=wd),
        "adam": lambda: Adam(params, lr=lr, weight_decay=wd),
        "adamw": lambda: AdamW(params, lr=lr, weight_decay=wd or 1e-2),
        "rmsprop": lambda: RMSprop(params, lr=lr, weight_decay=wd),
        "adagrad": lambda: Adagrad(params, lr=lr, weight_decay=wd),
        "adadelta": lambda: Adadelta(params, lr=lr, weight_decay=wd),
    }
    if cfg.optimizer not in table:
        raise UserError(f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    return table[cfg.optimizer]()


def build_scheduler(cfg, opt, steps_per_epoch: int):
    """``cfg.schedule`` (one of ``SCHEDULES``) for ``opt`` over ``cfg.epochs`` epochs (None for 'none')."""
    e = cfg.epochs
    table = {
        "none": lambda: None,
        "step": lambda: S.StepLR(opt, step_size=max(1, e // 3), gamma=0.3),
        "exponential": lambda: S.ExponentialLR(opt, gamma=0.9),
        "cosine": lambda: S.CosineAnnealingLR(opt, T_max=e),
        "inverse-time": lambda: S.LambdaLR(opt, lambda ep: 1.0 / (1.0 + 0.5 * ep)),
        "plateau": lambda: S.ReduceLROnPlateau(opt, factor=0.3, patience=2),
        "warmup-cosine": lambda: S.SequentialLR(opt, [S.LinearLR(opt, 0.1, 1.0, total_iters=max(1, e // 5)),
                                                      S.CosineAnnealingLR(opt, T_max=max(1, e - e // 5))],
                                                milestones=[max(1, e // 5)]),
    }
    if cfg.schedule not in table:
        raise UserError(f"unknown schedule {cfg.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    return table[cfg.schedule]()
