"""``compare-sweeps``: several stored sweeps side by side — the settings that differ, and per
sweep and leak L_max_max and the statistical perm / rigid / linear / ICA errors.

Order of work, so that a refused command changes nothing: output paths, then every sweep
(unknown id, a study, no analysis, fewer than two distinct sweeps: one line, exit code 2),
then the printout and the output files.
"""

from __future__ import annotations

import argparse

from nearid_core.cli import UsageError, check_output, format_table, sweep_ref

__all__ = ["add_compare_sweeps_parser", "cmd_compare_sweeps"]

OUTPUTS = (("report", ".html"), ("json", ".json"))


def add_compare_sweeps_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``compare-sweeps`` to the sub-commands (once; later calls do nothing)."""
    if "compare-sweeps" in sub.choices:
        return
    p = sub.add_parser(
        "compare-sweeps", help="several stored sweeps side by side: what differs, and their "
        "numbers per leak", description="Print the settings that differ between two or more "
        "analysed sweeps (decoder, data kind, sources, width, ...), then per sweep and leak "
        "L_max_max and the statistical l2 errors after a signed permutation, a rigid map, a "
        "linear map and ICA, with the ICA efficiency. --report writes the overlays of B(z) "
        "and of the errors against L, one colour per sweep.")
    p.add_argument("sweeps", nargs="+", type=sweep_ref, metavar="SWEEP",
                   help="two or more sweep ids (a unique prefix is enough; see `list`)")
    g = p.add_argument_group("output")
    g.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report "
                   "with the overlays and the tables")
    g.add_argument("--json", metavar="FILE.json", help="write the settings, what differs and "
                   "the per-leak numbers")
    g.add_argument("--force", action="store_true", help="overwrite existing output files")


def _views(args):
    from nearid_core.commands.common import DAMAGED, open_store
    from nearid_core.views.multi_sweep import load_views

    if len(args.sweeps) < 2:
        raise UsageError(f"compare-sweeps needs two or more sweep ids (got {len(args.sweeps)})")
    store = open_store(create=False)
    try:
        return load_views(store, args.sweeps)
    except ValueError as err:
        raise UsageError(str(err)) from None
    except DAMAGED as err:  # load_view itself marks damaged artefacts; the rest lands here
        raise UsageError(f"the saved results cannot be read ({type(err).__name__}: {err})"
                         ) from None


def _print(views, labels: dict, diff: list[dict], rows: list[dict]) -> None:
    from nearid_core.science import efficiency
    from nearid_core.views.multi_sweep import SUMMARY_COLUMNS

    print(f"{len(views)} sweeps:")
    for v in views:
        print(f"  {v.id}  {v.name or '-'}  ({labels[v.id]})")
    if diff:
        print("\nsettings that differ:")
        print(format_table(diff, [("setting", "setting", "")]
                           + [(v.id, v.id, "") for v in views]))
    else:
        print("\nevery stored setting is the same in these sweeps")
    cols = [c for c in SUMMARY_COLUMNS if c[0] != "sweep"]
    for v in views:
        print(f"\nsweep {v.id} ({labels[v.id]}): statistical l2 error between seeds, per leak")
        print(format_table([r for r in rows if r["id"] == v.id], cols))
    print(f"\n{efficiency.LEGEND}")


def cmd_compare_sweeps(args) -> int:
    """``python -m nearid_core compare-sweeps``; see ``add_compare_sweeps_parser``."""
    from nearid_core.commands.common import _write, write_json
    from nearid_core.config import json_safe
    from nearid_core.views.multi_sweep import (
        compare_sweeps_html,
        differing_settings,
        summary_rows,
        sweep_labels,
    )

    for option, suffix in OUTPUTS:
        if getattr(args, option) is not None:
            check_output(getattr(args, option), suffix, option=f"--{option}", force=args.force)
    views = _views(args)
    configs = {v.id: v.config_dict for v in views}
    labels = sweep_labels(configs, {v.id: v.name for v in views})
    diff, rows = differing_settings(configs), summary_rows(views, labels)
    _print(views, labels, diff, rows)
    if args.json:
        write_json(args.json, json_safe({
            "command": "compare-sweeps",
            "sweeps": [{"id": v.id, "name": v.name, "label": labels[v.id],
                        "config": v.config_dict} for v in views],
            "differing": diff, "per_leak": rows}), "settings and numbers")
    if args.report:
        data = compare_sweeps_html(views).encode("utf-8")
        _write(args.report, lambda fh: fh.write(data), "--report")
        print(f"report written to {args.report}")
    return 0
