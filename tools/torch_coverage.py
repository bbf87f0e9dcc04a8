"""Which public names of torch's everyday modules lamina lacks.

For each of ``torch``, ``torch.nn``, ``torch.nn.functional``, ``torch.optim``, ``torch.func`` and
``torch.linalg``: the public names (no leading underscore, not a submodule, not a dtype-like constant
CUDA-only helper is still counted), and those with no attribute of the same name in the lamina
counterpart. Prints a table of counts (present / in torch) and, with ``--missing``, the missing names.

Run:  python tools/torch_coverage.py [--missing] [--module torch.nn]
"""
from __future__ import annotations

import argparse
import importlib
import types

PAIRS = [("torch", "lamina"), ("torch.nn", "lamina.nn"), ("torch.nn.functional", "lamina.nn.functional"),
         ("torch.optim", "lamina.optim"), ("torch.func", "lamina.func"), ("torch.linalg", "lamina.linalg")]


def public_names(module) -> list[str]:
    names = getattr(module, "__all__", None) or dir(module)
    out = []
    for n in names:
        if n.startswith("_"):
            continue
        v = getattr(module, n, None)
        if isinstance(v, types.ModuleType):
            continue
        out.append(n)
    return sorted(set(out))


def coverage(torch_name: str, lamina_name: str) -> tuple[list[str], list[str]]:
    t = importlib.import_module(torch_name)
    try:
        lam = importlib.import_module(lamina_name)
    except ImportError:
        lam = None
    names = public_names(t)
    missing = [n for n in names if lam is None or not hasattr(lam, n)]
    return names, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--missing", action="store_true", help="list the missing names")
    ap.add_argument("--module", help="only this torch module")
    args = ap.parse_args()
    total = present = 0
    print(f"{'module':<22} {'present':>8} {'in torch':>9} {'share':>6}")
    for tn, ln in PAIRS:
        if args.module and tn != args.module:
            continue
        names, missing = coverage(tn, ln)
        have = len(names) - len(missing)
        total += len(names)
        present += have
        print(f"{tn:<22} {have:>8} {len(names):>9} {have / max(len(names), 1):>6.1%}")
        if args.missing:
            print("  missing: " + " ".join(missing))
    print(f"{'all':<22} {present:>8} {total:>9} {present / max(total, 1):>6.1%}")


if __name__ == "__main__":
    main()
