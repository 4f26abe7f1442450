"""``disentangle``: the paper's Table 2 (AE vs AE + ICA) on synthetic data sets with known
factors (``studies.disentangle``), printed beside the paper's rows with the acceptance
verdicts.

``add_disentangle_parser(sub)`` adds the sub-command; ``cmd_disentangle(args)`` runs it.
"""

from __future__ import annotations

import argparse

from nearid_core.cli import UsageError, check_output, format_table, int_in, real_in
from nearid_core.commands.common import write_json
from nearid_core.commands.options import _outputs
from nearid_core.commands.study_store import add_store_options, run_or_store
from nearid_core.config import MAX_SEED, to_dict

__all__ = ["add_disentangle_parser", "cmd_disentangle", "dataset_list", "format_result"]

_DATASETS = ("shapes", "rolled", "mlp")  # as studies.disentangle.DATASETS (loaded on use)


def dataset_list(text: str) -> tuple[str, ...]:
    """An argparse type: distinct data sets like ``shapes,rolled``."""
    names = tuple(p.strip() for p in text.split(","))
    bad = [n for n in names if n not in _DATASETS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"wants data sets among {','.join(_DATASETS)}, comma-separated (got {text[:40]!r})")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"lists a data set twice (got {text[:40]!r})")
    return names


def add_disentangle_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``disentangle`` to the sub-commands (once; later calls do nothing)."""
    if "disentangle" in sub.choices:
        return
    p = sub.add_parser(
        "disentangle", help="Table 2: AE vs AE + ICA disentanglement (InfoMEC, MCC, DCI) on "
        "data with known factors", description="Train plain autoencoders (twice as many "
        "latents as factors, weight decay the only regulariser) on data sets with known "
        "factors, score their held-out latents before and after ICA by InfoM/InfoE/InfoC "
        "(the InfoMEC authors' protocol), MCC and DCI, and print the table beside the "
        "paper's Table 2 with the acceptance verdicts.")
    p.add_argument("--data", type=dataset_list, default=_DATASETS, metavar="A,B,...",
                   help="data sets among shapes, rolled, mlp (default: all three)")
    p.add_argument("--seeds", type=int_in(1, 16), default=3, help="models per data set, "
                   "1-16 (default: %(default)s)")
    p.add_argument("--epochs", type=int_in(1, 10_000), default=40, help="training epochs "
                   "(default: %(default)s)")
    p.add_argument("--weight-decay", type=real_in(0.0, 1.0), default=1e-4, metavar="W",
                   help="weight decay of the decoder, 0-1 (default: %(default)s)")
    p.add_argument("--latents-per-factor", type=int_in(1, 4), default=2, metavar="N",
                   help="latents per ground-truth factor, 1-4 (default: %(default)s)")
    p.add_argument("--rolled-factors", type=int_in(2, 6), default=4, metavar="N",
                   help="factors of the rolled data set, 2-6 (default: %(default)s)")
    p.add_argument("--mlp-factors", type=int_in(2, 6), default=4, metavar="N",
                   help="factors of the mlp control, 2-6 (default: %(default)s)")
    p.add_argument("--leak", type=real_in(0.0, 1.0), default=1.0, metavar="A",
                   help="the autoencoders' alpha, 0 linear to 1 ReLU (default: %(default)s)")
    p.add_argument("--levels", type=int_in(0, 20), default=8, metavar="N",
                   help="values per shapes factor, 0 continuous or 2-20 (default: "
                        "%(default)s)")
    p.add_argument("--n", type=int_in(256, 200_000), default=4096, help="samples per data "
                   "set, 20%% held out and scored (default: %(default)s)")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="master seed "
                   "(default: %(default)s)")
    _outputs(p, (("--json", "FILE.json", "the table, verdicts, per-seed scores and settings"),))
    add_store_options(p)


def _config(args):
    from nearid_core.studies.disentangle import DisentangleConfig

    try:
        return DisentangleConfig(
            datasets=args.data, seeds=args.seeds, epochs=args.epochs,
            weight_decay=args.weight_decay, latents_per_factor=args.latents_per_factor,
            rolled_factors=args.rolled_factors, mlp_factors=args.mlp_factors, leak=args.leak,
            levels=args.levels, n=args.n, seed=args.seed)
    except ValueError as err:
        raise UsageError(str(err)) from None


def cmd_disentangle(args) -> int:
    """``python -m nearid_core disentangle``: Table 2 beside the paper's, with verdicts."""
    from nearid_core.studies.disentangle import run_disentangle

    if args.json is not None:
        check_output(args.json, ".json", option="--json", force=args.force)
    config = _config(args)
    result = run_or_store("disentangle", to_dict(config), args,
                          lambda p: run_disentangle(config, on_progress=p),
                          what="disentanglement study")
    print(format_result(result))
    if args.json:
        write_json(args.json, {"command": "disentangle", **result.to_json_dict()},
                   "table, verdicts, per-seed scores and settings")
    return 0


def format_result(result) -> str:
    """Ours (means, then per data set), the paper's Table 2, verdicts, notes, timings."""
    from nearid_core.studies.disentangle import (
        METHOD_LABELS,
        METHOD_TEXTS,
        METRIC_LABELS,
        METRICS,
        PAPER_TABLE2,
    )

    cfg = result.config
    cols = [("scope", "data", ""), ("method", "code", "")]
    cols += [(m, METRIC_LABELS[m], ".2f") for m in METRICS]
    out = [f"Table 2, ours: mean over {cfg.seeds} seed(s) per data set, held-out latents "
           f"({cfg.latents_per_factor} latents per factor, weight decay {cfg.weight_decay:g}, "
           f"leak {cfg.leak:g}); InfoMEC by the authors' protocol",
           format_table(result.table(), cols),
           "\nTable 2, paper (as printed; MCC and DCI not reported)",
           format_table(list(PAPER_TABLE2), cols[:5]), "\nverdicts"]
    for v in result.verdicts():
        word = {True: "PASS", False: "FAIL", None: "n/a"}[v["passed"]]
        out.append(f"  [{word}] {v['text']}")
    out.append("\ncodes")
    out += [f"  {METHOD_LABELS[m]}: {t}" for m, t in METHOD_TEXTS.items()]
    out += ["\ndata sets", *_dataset_notes(result)]
    out.append("\nInfoE cannot change under an invertible linear map of all latents, so AE + "
               "ICA (all) reuses AE's unless latents were pruned; AE + ICA (k) is refitted on "
               "k sources and loses what PCA to k dropped (infomec.INFOE_ICA_TEXT).")
    out.append(f"\n{result.seconds:.1f} s in all")
    return "\n".join(out)


def _dataset_notes(result) -> list[str]:
    """Per data set: factors, latents, the generator's B, reconstruction, ICA, timings."""
    from nearid_core.studies.disentangle import DATASET_TEXTS

    out, max_iter = [], result.config.ica_max_iter
    for name, d in result.datasets.items():
        not_k = sum(not m.ica_k.converged for m in d.models)
        not_all = sum(not m.ica_all.converged for m in d.models)
        rel = float((d.recon_mse / d.x_var).mean()) if d.x_var > 0 else float("nan")
        out.append(f"  {name}: {DATASET_TEXTS[name]}; {d.n_factors} factors, {d.n_latents} "
                   f"latents; generator B median {d.geometry['B_median']:.2f}, max "
                   f"{d.geometry['B_max']:.2f}; held-out reconstruction error {rel:.1%} of "
                   f"the variance; FastICA not converged in {max_iter} iterations: "
                   f"(k) {not_k}, (all) {not_all} of {len(d.models)} models; train "
                   f"{d.train_s:.1f} s, score {d.score_s:.1f} s")
    return out
