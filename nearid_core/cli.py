"""Command-line plumbing: argument parsing into configs, progress and tables.

Kept apart from ``__main__`` so that the app and tests can reuse the parsers.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

from .config import DataConfig, ModelConfig, SweepConfig, TrainConfig

D, M, T = DataConfig(), ModelConfig(), TrainConfig()


class UsageError(Exception):
    """A user mistake on the command line: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option ends in one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        print(f"nearid: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def leak_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--leaks wants numbers separated by commas, like 0,0.5,0.95 (got {text!r})") from None


def add_sweep_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (the ground truth u and observations x = g(u))")
    g.add_argument("--kind", default=D.kind, choices=["rolled", "linear", "square", "mlp"],
                   help="data-generating process: rolled = factors rolled onto circular arcs "
                        "(exactly isometric, curved), linear = x = Q u, square = images of a "
                        "white square at position u, mlp = non-isometric control "
                        "(default: %(default)s)")
    g.add_argument("--d-u", type=int, default=D.d_u, help="number of ground-truth factors, "
                   "1-6 (default: %(default)s)")
    g.add_argument("--d-x", type=int, default=D.d_x, help="observation dimension "
                   "(ignored for square: image size squared) (default: %(default)s)")
    g.add_argument("--n", type=int, default=D.n, help="samples, of which --holdout are held "
                   "out for every measurement (default: %(default)s)")
    g.add_argument("--radius", type=float, default=D.radius, help="radius of the arcs for "
                   "rolled data: smaller = more curved (default: %(default)s)")
    g.add_argument("--sources", default=D.sources, choices=["uniform", "laplace", "gaussian"],
                   help="law of each factor, unit variance; gaussian is the case ICA cannot "
                        "resolve (default: %(default)s)")
    g.add_argument("--noise", type=float, default=D.noise, help="std of Gaussian noise added "
                   "to x (default: %(default)s)")
    g = p.add_argument_group("model (autoencoder x -> w -> w -> z -> w -> w -> x)")
    g.add_argument("--width", type=int, default=M.width, help="hidden width w (default: "
                   "%(default)s); the orthogonal decoder needs d_z <= w <= d_x")
    g.add_argument("--d-z", type=int, default=M.d_z, help="latent dimension, 0 = same as "
                   "--d-u (default: %(default)s)")
    g.add_argument("--decoder", default=M.decoder, choices=["orthogonal", "free"],
                   help="orthogonal = weights with orthonormal columns, so the leak bounds "
                        "B(z) <= (1-leak)^-2; free = ordinary weights with weight decay "
                        "(default: %(default)s)")
    g.add_argument("--weight-decay", type=float, default=M.weight_decay, help="weight decay "
                   "of the free decoder (default: %(default)s)")
    g = p.add_argument_group("training (MSE, Adam)")
    g.add_argument("--epochs", type=int, default=T.epochs, help="passes over the training "
                   "data (default: %(default)s)")
    g.add_argument("--batch-size", type=int, default=T.batch_size, help="default: %(default)s")
    g.add_argument("--lr", type=float, default=T.lr, help="Adam learning rate (default: "
                   "%(default)s)")
    g.add_argument("--holdout", type=float, default=T.holdout, help="share of samples held "
                   "out (default: %(default)s)")
    g = p.add_argument_group("grid")
    g.add_argument("--leaks", type=leak_list, default=SweepConfig().leaks,
                   help="leaks alpha in [0, 1], comma separated; every hidden activation is "
                        "LeakyReLU with negative slope 1 - alpha, so 0 = linear and 1 = ReLU "
                        "(default: 0,0.2,0.4,0.6,0.8,0.95)")
    g.add_argument("--seeds", type=int, default=4, help="models (seeds) per leak; two or "
                   "more are needed to compare seeds (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="master seed: the same command with "
                   "the same seed gives the same numbers (default: %(default)s)")
    g.add_argument("--workers", type=int, default=0, help="worker processes, each with one "
                   "torch thread (default: one per core, at most 4)")


def sweep_config(args: argparse.Namespace) -> SweepConfig:
    """Build and validate the SweepConfig; a bad value raises UsageError in one line."""
    try:
        data = DataConfig(kind=args.kind, d_u=args.d_u, d_x=args.d_x, n=args.n,
                          radius=args.radius, sources=args.sources, noise=args.noise,
                          seed=args.seed)
        model = ModelConfig(width=args.width, d_z=args.d_z, decoder=args.decoder,
                            weight_decay=args.weight_decay)
        train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            holdout=args.holdout)
        return SweepConfig(data, model, train, leaks=args.leaks, seeds=args.seeds,
                           seed=args.seed)
    except ValueError as err:
        raise UsageError(str(err)) from None


class ProgressPrinter:
    """Progress on stderr: a redrawn bar on a terminal, a line per 10% otherwise."""

    def __init__(self, stream=sys.stderr, quiet: bool = False) -> None:
        self.stream, self.quiet = stream, quiet
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.last = -1

    def __call__(self, progress) -> None:
        if self.quiet:
            return
        pct = int(progress.fraction * 100)
        if self.tty:
            bar = "#" * (pct // 4) + "." * (25 - pct // 4)
            self.stream.write(f"\r[{bar}] {pct:3d}% {progress.message}")
            self.stream.flush()
        elif pct // 10 > self.last // 10:
            self.stream.write(f"{pct:3d}% {progress.message}\n")
        self.last = pct

    def done(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(("\n" if self.tty else "") + message + "\n")


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Fixed-width text table; columns are (key, header, format spec)."""
    def cell(v, spec):
        if isinstance(v, float) and not math.isfinite(v):
            return "-"
        return format(v, spec) if spec else str(v)

    cells = [[cell(r.get(k, float("nan")), f) for k, _, f in columns] for r in rows]
    heads = [h for _, h, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
