"""The ``lamina`` command line."""
from __future__ import annotations

import argparse
import sys


def _xor(args) -> int:
    from .demo import train_xor

    train_xor(hidden=args.hidden, epochs=args.epochs, lr=args.lr, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lamina", description="lamina: deep learning from first principles on NumPy")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    x = sub.add_parser("xor", help="train seed 000's XOR network with the autodiff engine alone",
                       description="Train the 2-hidden-1 XOR network of seed 000 by full-batch gradient descent "
                                   "using only lamina tensors and autograd, then print its test accuracy.")
    x.add_argument("--hidden", type=int, default=2, help="hidden units (default 2, as in seed 000)")
    x.add_argument("--epochs", type=int, default=10000, help="gradient steps (default 10000)")
    x.add_argument("--lr", type=float, default=0.15, help="learning rate (default 0.15)")
    x.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    x.set_defaults(func=_xor)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("lamina: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
