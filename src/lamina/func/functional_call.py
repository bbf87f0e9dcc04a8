"""``functional_call(module, params_and_buffers, args)``: run a module with other tensors in place of its
parameters and buffers (``torch.func.functional_call``), so that transforms can differentiate a module's
output with respect to a dict of parameters: ``grad(lambda p: loss(functional_call(model, p, (x,))))(params)``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence


def _owner(module, name: str):
    """(the submodule holding ``name``, its table '_parameters' or '_buffers', the attribute name)."""
    *path, leaf = name.split(".")
    owner = module
    for part in path:
        subs = owner.__dict__.get("_modules", {})
        if part not in subs:
            raise AttributeError(f"functional_call: {type(module).__name__} has no submodule '{part}' (in '{name}')")
        owner = subs[part]
    for table in ("_parameters", "_buffers"):
        if leaf in owner.__dict__.get(table, {}):
            return owner, table, leaf
    raise AttributeError(f"functional_call: '{name}' is neither a parameter nor a buffer of {type(module).__name__}")


def _merged(params_and_buffers) -> dict:
    if isinstance(params_and_buffers, Mapping):
        return dict(params_and_buffers)
    merged: dict = {}
    for d in params_and_buffers:
        for k in d:
            if k in merged:
                raise ValueError(f"functional_call: '{k}' appears in more than one of the dicts given")
        merged.update(d)
    return merged


def _all_named(module) -> list:
    return list(module.named_parameters(remove_duplicate=False)) + list(module.named_buffers(remove_duplicate=False))


def _tied(module, given: dict) -> dict:
    """The names sharing a tensor with a given name (tied weights) and not given themselves, with its value."""
    names: dict = {}
    for name, t in _all_named(module):
        names.setdefault(id(t), []).append(name)
    extra = {}
    for group in names.values():
        chosen = [n for n in group if n in given]
        for n in group:
            if chosen and n not in given:
                extra[n] = given[chosen[0]]
    return extra


def _check_strict(module, given: dict) -> None:
    """Refuse a missing or an unknown name (``strict=True``)."""
    names = {n for n, _ in _all_named(module)}
    missing, unexpected = sorted(names - set(given)), sorted(set(given) - names)
    if missing or unexpected:
        raise RuntimeError(f"functional_call (strict): missing keys {missing}, unexpected keys {unexpected}")


def _substitute(module, given: dict, saved: list) -> None:
    """Put each given tensor in place of the parameter or buffer of its name, appending (table, name, old
    value) to ``saved`` as it goes (so that a failure part way restores what was replaced)."""
    for name, value in given.items():
        owner, table, leaf = _owner(module, name)
        saved.append((owner.__dict__[table], leaf, owner.__dict__[table][leaf]))
        owner.__dict__[table][leaf] = value


def functional_call(module, params_and_buffers, args=(), kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with the tensors of ``params_and_buffers`` (a dict name → tensor, or a
    sequence of dicts) standing for the parameters and buffers of those names, restored afterwards.
    ``strict``: every parameter and buffer must be given. ``tie_weights``: a tensor shared by several names
    is replaced under all of them."""
    given = _merged(params_and_buffers)
    if tie_weights:
        given.update(_tied(module, given))
    if strict:
        _check_strict(module, given)
    saved: list = []
    try:
        _substitute(module, given, saved)
        if not isinstance(args, Sequence) or isinstance(args, str):
            args = (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for table, leaf, old in reversed(saved):
            table[leaf] = old
