"""The worker side: workers perform the experiments (trials) and return their results.

``run_trial`` is what the master submits to an executor: it runs the
objective on a trial and returns a plain dict (state, value, params,
distributions, reports, attributes, times, error).  It never raises for a
failing objective, so the master learns about every failure the same way,
whatever executor carried the call.
"""
from __future__ import annotations

import math
import pickle
import time
import traceback

from .trial import Trial, TrialPruned, TrialState

__all__ = ["run_trial"]


def _picklable(e: BaseException) -> BaseException | None:
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return None
    return e


def run_trial(objective, trial: Trial) -> dict:
    """Run ``objective(trial)``; return the result dict (``"exception"`` for failures)."""
    trial.state = TrialState.RUNNING
    trial.datetime_start = time.time()
    exc = None
    try:
        value = objective(trial)
    except TrialPruned:
        trial.state, trial.value = TrialState.PRUNED, None
    except Exception as e:  # recorded as FAILED; the master decides whether to re-raise
        trial.state, trial.value = TrialState.FAIL, None
        trial.error = "".join(traceback.format_exception(type(e), e, e.__traceback__)).strip()
        exc = _picklable(e)
    else:
        try:
            v = float(value)
        except (TypeError, ValueError):
            trial.state, trial.value = TrialState.FAIL, None
            trial.error = (f"trial {trial.number}: the objective returned {value!r} of type "
                           f"{type(value).__name__}; expected a float")
        else:
            if math.isnan(v):
                trial.state, trial.value = TrialState.FAIL, None
                trial.error = f"trial {trial.number}: the objective returned NaN"
            else:
                trial.state, trial.value = TrialState.COMPLETE, v
    trial.datetime_complete = time.time()
    out = trial._result()
    out["exception"] = exc
    return out
