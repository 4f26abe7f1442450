"""``python -m nearid_core``: headless sweeps and exports."""

from __future__ import annotations

import json
import sys
import time

from .cli import Parser, ProgressPrinter, UsageError, add_sweep_options, format_table, sweep_config
from .config import to_dict

LEAK_COLUMNS = [
    ("leak", "leak", ".2f"), ("models", "models", "d"), ("recon_mse", "recon MSE", ".2e"),
    ("B_median", "B med", ".3f"), ("B_q90", "B q90", ".3f"), ("B_max", "B max", ".3f"),
    ("L_max", "L_max", ".3f"), ("L_mean", "L_mean", ".3f"), ("train_s", "time s", ".1f"),
]


def build_parser() -> Parser:
    p = Parser(prog="python -m nearid_core",
               description="nearid: measure near-identifiability of autoencoder latents.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    s = sub.add_parser("sweep", help="train a leak x seed grid of autoencoders and measure "
                       "B(z) and reconstruction", description="Train a leak x seed grid of "
                       "small autoencoders on synthetic data and print, per leak, held-out "
                       "reconstruction and the decoder's bi-Lipschitz estimates B(z).")
    add_sweep_options(s)
    s.add_argument("--json", metavar="PATH", help="write every per-model number and the "
                   "settings to this JSON file")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def cmd_sweep(args) -> int:
    from .executors import executor_or_default
    from .sweep import leak_table, train_sweep

    cfg = sweep_config(args)
    printer = ProgressPrinter(quiet=args.quiet)
    t0 = time.perf_counter()
    with executor_or_default(None, args.workers or None) as ex:
        outcomes = train_sweep(cfg, executor=ex, on_progress=printer)
    seconds = time.perf_counter() - t0
    printer.done(f"trained {cfg.n_models} models in {seconds:.1f} s")
    rows = leak_table(cfg, outcomes)
    print(format_table(rows, LEAK_COLUMNS))
    for o in outcomes:
        if o.status != "done":
            print(f"model {o.index} (leak {o.leak}, seed {o.seed}) {o.status}: {o.reason}")
    if args.json:
        models = [{"index": o.index, "leak": o.leak, "seed": o.seed, "status": o.status,
                   "reason": o.reason, "recon_mse": o.recon_mse, **o.lipschitz,
                   "loss_history": o.loss_history.tolist()} for o in outcomes]
        doc = {"settings": to_dict(cfg), "seconds": seconds, "per_leak": rows, "models": models}
        _write_json(args.json, doc)
    return 0


def _write_json(path: str, doc: dict) -> None:
    try:
        with open(path, "w") as fh:
            json.dump(doc, fh, indent=1, allow_nan=True)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None


COMMANDS = {"sweep": cmd_sweep}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"nearid: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nearid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
