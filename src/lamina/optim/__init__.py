"""``lamina.optim``: optimizers with PyTorch's API, line searches and learning-rate schedules.

First order (match ``torch.optim`` step for step): SGD (momentum, dampening, Nesterov),
Adagrad, Adadelta, RMSprop, Adam, AdamW, NAdam, RAdam, Adamax; SparseAdam for row-sparse embedding gradients.
Quasi-Newton: BFGS (dense inverse Hessian) and LBFGS (limited memory), optionally with a strong-Wolfe line search.  Second order, for small full-batch problems: Newton,
GaussNewton, LevenbergMarquardt.  ``lr_scheduler``: learning-rate schedules.  ``functional``: the
SGD and Adam update rules, in place on arrays and on tensors (differentiable through the step).
"""
from . import functional, lr_scheduler
from ._foreach import get_num_threads, set_num_threads
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .bfgs import BFGS
from .hypergradient import SGDHD, AdamHD
from .lbfgs import LBFGS
from .line_search import LineSearchResult, backtracking, cubic_interpolate, strong_wolfe
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .second_order import GaussNewton, LevenbergMarquardt, Newton
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "SGDHD", "AdamHD", "BFGS", "LBFGS",
           "Newton", "GaussNewton", "SparseAdam", "LevenbergMarquardt", "functional", "lr_scheduler", "backtracking", "strong_wolfe", "cubic_interpolate",
           "LineSearchResult", "set_num_threads", "get_num_threads"]
