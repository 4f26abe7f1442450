"""``batch``: ICA against batch effects (the paper's Tables 3–4) on a synthetic screen.

``add_batch_parser(sub)`` adds the sub-command and its options (range-checked at parse time,
one-line errors); ``cmd_batch(args)`` runs ``studies.batch.paired_difference`` and prints the
first seed's per-perturbation tables beside the paper's numbers, then PCA + ICA − PCA + Rand
over the seeds with its interval.
"""

from __future__ import annotations

import argparse
import dataclasses

from nearid_core.cli import UsageError, check_output, format_table, int_in, real_in
from nearid_core.commands.common import write_json
from nearid_core.commands.options import _outputs
from nearid_core.commands.study_store import add_store_options, run_or_store
from nearid_core.config import MAX_SEED

__all__ = ["add_batch_parser", "cmd_batch"]

# ScreenConfig's defaults, spelled out so that building the parser imports no numpy or
# torch (a test checks that they agree).
_SCREEN_DEFAULTS = {"perturbations": 6, "batches": 6, "wells": 40, "strength": 1.0}
EMBEDDING_CHOICES = ("observations", "autoencoder")
_STRENGTHS = (0.0, 1.0, 2.0, 4.0, 8.0)  # as runs.study_jobs.BATCH_DEFAULTS (a test checks)


def add_batch_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``batch`` to the sub-commands (once; later calls do nothing)."""
    if "batch" in sub.choices:
        return
    b = sub.add_parser(
        "batch", help="ICA against batch effects: the paper's Tables 3-4 on a synthetic "
        "screen", description="Sample a synthetic screen (sparse perturbation effects on "
        "independent Laplace biological factors, batch effects on nuisance factors), "
        "post-process the embedding as Base / PCA / PCA+ICA / PCA+Rand fitted on training "
        "batches, and print per perturbation the held-out AUROC and how concentrated the "
        "effect is, beside the paper's numbers; then PCA+ICA − PCA+Rand over --seeds screens.")
    g = b.add_argument_group("screen")
    d = _SCREEN_DEFAULTS
    g.add_argument("--perturbations", type=int_in(1, 100), default=d["perturbations"],
                   metavar="G", help="perturbed conditions, 1-100 (default: %(default)s)")
    g.add_argument("--batches", type=int_in(2, 100), default=d["batches"], metavar="B",
                   help="experimental batches, 2-100 (default: %(default)s)")
    g.add_argument("--held-out", type=int_in(1, 99), default=2, metavar="K", help="the last "
                   "K batches are held out, fewer than --batches (default: %(default)s)")
    g.add_argument("--wells", type=int_in(2, 100_000), default=d["wells"], metavar="N",
                   help="wells per batch and condition (default: %(default)s)")
    g.add_argument("--strength", type=real_in(0.0, 10.0), default=d["strength"], metavar="S",
                   help="batch-effect strength, 0-10 (default: %(default)s)")
    g.add_argument("--embedding", choices=EMBEDDING_CHOICES, default="observations",
                   help="the observations, or an autoencoder's latents trained on the "
                        "training batches (default: %(default)s)")
    g.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="seed of the first "
                   "screen (default: %(default)s)")
    g.add_argument("--seeds", type=int_in(2, 100), default=5, metavar="K", help="screens "
                   "(seeds seed..seed+K-1) for the paired difference, 2-100 (default: "
                   "%(default)s)")
    g.add_argument("--strengths", type=_strengths, default=_STRENGTHS, metavar="S,S,...",
                   help="batch strengths of the strength sweep, or 'none' (default: "
                        f"{','.join(f'{x:g}' for x in _STRENGTHS)})")
    g.add_argument("--strength-seeds", type=int_in(2, 20), default=3, metavar="K",
                   help="screens per strength, 2-20 (default: %(default)s)")
    _outputs(b, (("--json", "FILE.json", "the tables, the paired difference, the paper's "
                  "numbers and the settings"),))
    add_store_options(b)


def _strengths(text: str) -> tuple[float, ...]:
    """An argparse type: up to 12 batch strengths in [0, 10], or 'none'."""
    if text.strip().lower() == "none":
        return ()
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if not values or len(values) > 12 or any(not 0.0 <= v <= 10.0 for v in values):
        raise argparse.ArgumentTypeError(
            f"wants up to 12 numbers in [0, 10], comma-separated, or 'none' (got {text[:40]!r})")
    return values


def _config(args):
    from nearid_core.science.batch_data import ScreenConfig
    from nearid_core.studies.batch import BatchConfig

    try:
        if args.held_out >= args.batches:
            raise ValueError(f"--held-out must be below --batches={args.batches}, so that a "
                             f"training batch is left (got {args.held_out})")
        screen = ScreenConfig(perturbations=args.perturbations, batches=args.batches,
                              wells=args.wells, strength=args.strength, seed=args.seed)
        held = tuple(range(args.batches - args.held_out, args.batches))
        return BatchConfig(screen=screen, embedding=args.embedding, held_out=held)
    except ValueError as err:
        raise UsageError(str(err)) from None


def study_settings(args, config) -> dict:
    """The stored study's settings for these options (as the app's page builds them)."""
    return {**dataclasses.asdict(config), "seeds": args.seeds,
            "strengths": list(args.strengths), "strength_seeds": args.strength_seeds}


def _span(batches) -> str:
    return ", ".join(str(b) for b in batches)


def _table(result, metric: str, paper: dict | None, paper_label: str) -> str:
    from nearid_core.science.batch_metrics import CONDITION_LABELS, CONDITIONS

    rows = [{"p": r["perturbation"], "moved": ",".join(map(str, r["moved"])),
             **{c: r[f"{metric}_{c}"] for c in CONDITIONS}} for r in result.rows]
    rows.append({"p": "mean", "moved": "", **{c: result.means[c][metric] for c in CONDITIONS}})
    if paper is not None:
        rows.append({"p": paper_label, "moved": "", **paper})
    cols = [("p", "perturbation", ""), ("moved", "moved factors", "")]
    return format_table(rows, cols + [(c, CONDITION_LABELS[c], ".3f") for c in CONDITIONS])


def print_batch(result, paired) -> None:
    """The first screen's tables beside the paper's, then the paired difference."""
    from nearid_core.studies.batch import DEFINITIONS, PAPER_TABLES

    cfg = result.config
    train = [b for b in range(cfg.screen.batches) if b not in cfg.held_out]
    print(f"screen seed {cfg.screen.seed}: {cfg.screen.perturbations} perturbations, "
          f"{cfg.screen.batches} batches ({_span(cfg.held_out)} held out), "
          f"{cfg.screen.wells} wells per batch and condition, strength {cfg.screen.strength:g}, "
          f"embedding: {cfg.embedding}; {result.fit['components']} PCA components")
    print("\nheld-out AUROC, control vs perturbation (paper row: its example gene EIF3H)")
    print(_table(result, "auroc", PAPER_TABLES["auroc_eif3h"], "paper EIF3H"))
    print("\ntop-25% share of the squared standardised effect (paper row: its Tables 3-4)")
    print(_table(result, "top25", PAPER_TABLES["top25"], "paper"))
    print("\nHoyer sparsity of the standardised effect (1 = one feature, 0 = flat)")
    print(_table(result, "hoyer", None, ""))
    print(f"\npaper rows: {PAPER_TABLES['source']}")
    print(DEFINITIONS.format(C=cfg.C, train=_span(train), held=_span(cfg.held_out)))
    print(f"\nPCA + ICA − PCA + Rand over {len(paired.results)} screens (seeds "
          f"{_span(r.config.screen.seed for r in paired.results)}), mean [95% t interval]:")
    for metric, name in (("auroc", "held-out AUROC"), ("top25", "top-25% share"),
                         ("hoyer", "Hoyer sparsity")):
        d = paired.difference[metric]
        print(f"  {name:15s} {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]")
    bad = [r.config.screen.seed for r in paired.results if not r.fit["ica_converged"]]
    if bad:
        print(f"note: FastICA did not converge for seed(s) {_span(bad)} (its best restart "
              "was used; see the JSON's fit record)")


def print_strengths(rows: list[dict], seeds: int) -> None:
    """PCA + ICA − PCA + Rand at each batch strength, and where the advantage holds."""
    from nearid_core.views.study_batch import strength_statement

    print(f"\nbatch-strength sweep: PCA + ICA − PCA + Rand, mean [95% t interval] over "
          f"{seeds} screens per strength")
    cols = [("strength", "strength", "g")] + [
        (f"{m}_{k}", f"{name} {k}", "+.3f") for m, name in (("top25", "top-25%"),
                                                           ("auroc", "AUROC"))
        for k in ("diff", "lo", "hi")]
    print(format_table(rows, cols))
    print(strength_statement({"strength_sweep": rows}))


def cmd_batch(args) -> int:
    """``python -m nearid_core batch``: Tables 3–4 on a synthetic screen, exit code 0."""
    from nearid_core.studies.batch import DEFINITIONS, PAPER_TABLES, paired_difference

    if args.json is not None:
        check_output(args.json, ".json", option="--json", force=args.force)
    config = _config(args)
    settings = study_settings(args, config)
    if args.no_save and args.strengths:
        raise UsageError("the strength sweep runs in stored studies only: drop --no-save, "
                         "or pass --strengths none")
    paired, sweep = run_or_store("batch", settings, args, lambda p: (paired_difference(
        config, args.seeds, on_progress=p), []), what="batch study")
    first = paired.results[0]
    print_batch(first, paired)
    if sweep:
        print_strengths(sweep, args.strength_seeds)
    if args.json:
        doc = {"command": "batch", "first_screen": first.to_json_dict(),
               "paired_difference": paired.to_json_dict(), "strength_sweep": sweep,
               "paper": PAPER_TABLES,
               "definitions": DEFINITIONS.format(C=config.C, train="training",
                                                 held=_span(config.held_out))}
        write_json(args.json, doc, "tables, paired difference and settings")
    return 0
