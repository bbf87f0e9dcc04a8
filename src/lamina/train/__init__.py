"""Training: ``fit`` / ``Trainer``, ``evaluate``, ``predict``, Keras-style callbacks, diagnostics,
checkpoints that resume exactly, and plots."""
from .callbacks import (
                        Callback,
                        CallbackList,
                        CSVLogger,
                        EarlyStopping,
                        LambdaCallback,
                        LearningRateScheduler,
                        ModelCheckpoint,
                        NaNLossError,
                        ProgressBar,
                        ReduceLROnPlateau,
                        TerminateOnNaN,
)
from .checkpoint import load_checkpoint, resume, save_checkpoint
from .diagnose import FitDiagnosis, Verdict, diagnose
from .diagnostics import ActivationMonitor, GradientNormMonitor, RunningCost, overfit_check
from .history import History
from .loop import Trainer, evaluate, fit, predict
from .plots import confusion_matrix, plot_confusion_matrix, plot_convergence, plot_history, running_average
from .tensorboard import TensorBoard

__all__ = ["fit", "evaluate", "predict", "Trainer", "History", "Callback", "CallbackList", "ProgressBar",
           "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau", "TerminateOnNaN",
           "NaNLossError", "CSVLogger", "LambdaCallback", "ActivationMonitor", "GradientNormMonitor", "RunningCost",
           "overfit_check", "save_checkpoint", "load_checkpoint", "resume", "confusion_matrix",
           "plot_confusion_matrix", "plot_convergence", "plot_history", "running_average", "TensorBoard"]
__all__ += ["diagnose", "Verdict", "FitDiagnosis"]
