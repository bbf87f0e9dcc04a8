"""The trials as a table, without pandas (``Study.trials_dataframe``).

Columns: ``number, state, value, datetime_start, datetime_complete, duration``,
then ``params_<name>`` for every parameter ever suggested, ``user_attrs_<key>``
and ``error``.  A parameter a trial did not suggest is ``None``.  Times are
Unix seconds (float).
"""
from __future__ import annotations

__all__ = ["trials_table"]


def _keys(trials, field: str) -> list:
    """The keys of ``trial.<field>`` over all trials, in order of first appearance."""
    return list(dict.fromkeys(k for t in trials for k in getattr(t, field)))


def _row(t, params: list, attrs: list) -> dict:
    row = {"number": t.number, "state": t.state.value, "value": t.value,
           "datetime_start": t.datetime_start, "datetime_complete": t.datetime_complete,
           "duration": t.duration}
    row.update({f"params_{n}": t.params.get(n) for n in params})
    row.update({f"user_attrs_{k}": t.user_attrs.get(k) for k in attrs})
    row["error"] = t.error
    return row


def _pandas_frame(records: list, columns: list):
    try:
        import pandas as pd  # optional dependency
    except ImportError:
        raise ImportError("trials_dataframe(format='pandas') needs pandas; use format='records' "
                          "or 'columns' without it") from None
    return pd.DataFrame(records, columns=columns)


def trials_table(trials, format: str = "records"):
    """``format``: ``"records"`` (list of dicts), ``"columns"`` (dict of lists) or ``"pandas"``."""
    if format not in ("records", "columns", "pandas"):
        raise ValueError(f"trials_dataframe: format must be 'records', 'columns' or 'pandas', got {format!r}")
    params, attrs = _keys(trials, "params"), _keys(trials, "user_attrs")
    columns = (["number", "state", "value", "datetime_start", "datetime_complete", "duration"]
               + [f"params_{n}" for n in params] + [f"user_attrs_{k}" for k in attrs] + ["error"])
    records = [_row(t, params, attrs) for t in trials]
    if format == "records":
        return records
    if format == "columns":
        return {c: [r[c] for r in records] for c in columns}
    return _pandas_frame(records, columns)
