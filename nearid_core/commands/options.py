"""Command-line options of the study commands, ``compare`` and ``realdata``.

They join the sub-commands of ``__main__.build_parser`` through ``cli.Parser`` (or an
explicit ``add_study_commands(sub)`` call there); every value is range-checked at parse time
with the same one-line errors as the sweep's options.
"""

from __future__ import annotations

import argparse

from nearid_core.cli import (
    boot_count,
    cores,
    index_list,
    int_in,
    real_in,
    sweep_name,
    sweep_ref,
)
from nearid_core.config import MAX_SEED

__all__ = ["add_study_commands"]


def _compare_inputs(c: argparse.ArgumentParser) -> None:
    c.add_argument("files", nargs="*", metavar="FILE[:KEY]", help="two or more embeddings of "
                   "the same inputs in the same row order: .npy, .npz (PATH.npz:KEY picks one "
                   "array), .csv, .tsv or .parquet; rows = inputs, columns = dimensions")
    g = c.add_argument_group("inputs")
    g.add_argument("--key", metavar="NAME", help="the array to read from every .npz given "
                   "without its own :KEY")
    g.add_argument("--flatten", action="store_true", help="3+-D arrays: keep axis 0 as the "
                   "inputs and flatten the rest")
    g.add_argument("--axis", type=int_in(0, 31), metavar="K", help="3+-D arrays: axis K holds "
                   "the inputs; the rest are flattened")
    g.add_argument("--drop-nonfinite", action="store_true", help="drop rows with NaN or inf "
                   "in any file from every file (default: refuse them)")
    g.add_argument("--factors", metavar="FILE[:KEY]", help="ground-truth factors for the same "
                   "rows: disentanglement before and after ICA")
    g.add_argument("--labels", metavar="FILE[:KEY]", help="one label per row: errors per label")
    g.add_argument("--max-mb", type=real_in(0.0, 1e6, lo_open=True), metavar="MB",
                   help="largest file (and loaded matrix) in MB (default: "
                        "$NEARID_MAX_UPLOAD_MB, else 500)")
    g.add_argument("--sweep", type=sweep_ref, metavar="SWEEP", help="instead of files: the "
                   "held-out latents of a stored sweep's done models, with its ground truth "
                   "as factors")
    g.add_argument("--models", type=index_list, metavar="I,J,...", help="with --sweep: the "
                   "models to compare (default: the first 2 done seeds of the lowest, middle "
                   "and highest leak)")


def _compare_method(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group("method")
    g.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="seed of the fit/eval "
                   "split, FastICA and the re-drawn splits (default: %(default)s)")
    g.add_argument("--boot", type=boot_count, default=5, metavar="N", help="re-drawn splits "
                   "for the 90%% intervals, 0 or 2-1000 (default: %(default)s)")
    g.add_argument("--ica-components", type=int_in(1, 4096), metavar="K", help="principal "
                   "components ICA runs on (default: enough for --ica-variance)")
    g.add_argument("--ica-variance", type=real_in(0.0, 1.0, lo_open=True), default=0.99,
                   metavar="F", help="share of variance the ICA components keep (default: "
                   "%(default)s)")
    g.add_argument("--workers", type=int_in(1, cores()), metavar="N",
                   help="threads (default: 2, at most the cores here)")


def _outputs(c: argparse.ArgumentParser, files: tuple[tuple[str, str, str], ...],
             ) -> argparse._ArgumentGroup:
    g = c.add_argument_group("output")
    for option, metavar, text in files:
        g.add_argument(option, metavar=metavar, help=text)
    g.add_argument("--force", action="store_true", help="overwrite existing output files")
    g.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return g


def add_study_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``compare``, ``realdata``, ``disentangle``, ``batch`` and ``compare-sweeps`` to the
    sub-commands (once; later calls do nothing)."""
    if "compare" in sub.choices:
        return
    c = sub.add_parser("compare", help="compare your own embeddings (the paper's Table-1 row "
                       "per pair)", description="Compare embeddings of the same inputs: per "
                       "ordered pair, the l2 error after the best signed permutation, rigid "
                       "map, linear map and ICA (divided by the reference's diameter, with "
                       "90% intervals over re-drawn splits), the ICA efficiency, CKA and the "
                       "Procrustes angle. A bad file ends in one line naming it.")
    _compare_inputs(c)
    _compare_method(c)
    out = _outputs(c, (("--json", "FILE.json", "the table, notes and settings"),
                       ("--maps", "FILE.npz", "the fitted maps (loads with allow_pickle=False)"),
                       ("--csv", "FILE.csv", "the table")))
    out.add_argument(
        "--save", type=sweep_name, metavar="NAME", help="keep the arrays and the result in "
        "the run store under this name (`list` shows it, `delete ID` removes it)")
    r = sub.add_parser("realdata", help="Table 1 on digits: seeds of three model families "
                       "beside the paper's pretrained models", description="Train seeds of an "
                       "autoencoder, a masked autoencoder and an MLP classifier on "
                       "scikit-learn's digits, compare the seeds on held-out digits, and "
                       "print the table beside the paper's Table 1.")
    r.add_argument("--seeds", type=int_in(2, 16), default=4, help="models per family, 2-16 "
                   "(default: %(default)s)")
    r.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="master seed (default: "
                   "%(default)s)")
    r.add_argument("--epochs", type=int_in(1, 10_000), default=100, help="epochs of the "
                   "(masked) autoencoders (default: %(default)s)")
    r.add_argument("--clf-epochs", type=int_in(1, 10_000), default=40, help="epochs of the "
                   "classifier (default: %(default)s)")
    _outputs(r, (("--json", "FILE.json", "the tables, pair errors and settings"),
                 ("--npz", "FILE.npz", "the digit embeddings (ae_seed0, ...) and labels, an "
                                       "example upload for `compare`")))
    from nearid_core.commands.batch import add_batch_parser
    from nearid_core.commands.disentangle import add_disentangle_parser

    add_disentangle_parser(sub)  # the paper's Table 2
    add_batch_parser(sub)  # the paper's Tables 3-4
    from nearid_core.commands.compare_sweeps import add_compare_sweeps_parser

    add_compare_sweeps_parser(sub)  # several stored sweeps side by side
