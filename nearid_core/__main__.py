"""``python -m nearid_core``: headless sweeps and exports."""

from __future__ import annotations

import json
import sys
import time

from .cli import Parser, ProgressPrinter, UsageError, add_sweep_options, format_table, sweep_config
from .store import StoreError

LEAK_COLUMNS = [
    ("leak", "leak", ".2f"), ("models", "models", "d"), ("recon_mse", "recon MSE", ".2e"),
    ("B_median", "B med", ".3f"), ("B_q90", "B q90", ".3f"), ("B_max", "B max", ".3f"),
    ("L_max", "L_max", ".3f"), ("L_mean", "L_mean", ".3f"), ("train_s", "time s", ".1f"),
]
FIGURE2_COLUMNS = [
    ("leak", "leak", ".2f"), ("L_max", "L_max", ".3f"), ("L_mean", "L_mean", ".3f"),
    ("recon_mse", "recon", ".2e"), ("stat_perm", "perm", ".4f"), ("stat_rigid", "rigid", ".4f"),
    ("stat_linear", "linear", ".4f"), ("stat_ica", "ICA", ".4f"),
    ("ica_efficiency", "ICA eff", ".2f"), ("mcc_before", "MCC", ".3f"),
    ("mcc_after", "MCC+ICA", ".3f"), ("infom_before", "InfoM", ".3f"),
    ("infom_after", "InfoM+ICA", ".3f"),
]


def build_parser() -> Parser:
    p = Parser(prog="python -m nearid_core",
               description="nearid: measure near-identifiability of autoencoder latents. "
                           "Results are kept in the run store at $NEARID_HOME (default "
                           "./.nearid).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    s = sub.add_parser("sweep", help="train a leak x seed grid of autoencoders, measure and "
                       "analyse it, and save it in the store", description="Train a leak x "
                       "seed grid of small autoencoders on synthetic data, then print per "
                       "leak: held-out reconstruction, the decoder's bi-Lipschitz estimates "
                       "B(z), the l2 identifiability errors between seeds for each alignment "
                       "group, and disentanglement before and after ICA.")
    add_sweep_options(s)
    s.add_argument("--name", default="", help="a label for the sweep in the store")
    s.add_argument("--json", metavar="PATH", help="write every per-model number, the "
                   "analysis and the settings to this JSON file")
    s.add_argument("--report", metavar="PATH.html", help="write a self-contained HTML report "
                   "of figures")
    s.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sub.add_parser("list", help="list the sweeps in the store")
    for name, text in (("show", "print a stored sweep's tables"),
                       ("delete", "delete a sweep and its files from the store")):
        c = sub.add_parser(name, help=text)
        c.add_argument("sweep", help="sweep id (a unique prefix is enough)")
    e = sub.add_parser("export", help="write a sweep's arrays (held-out x, u, latents, ICA "
                       "latents, B(z)) and configs to one .npz file")
    e.add_argument("sweep", help="sweep id (a unique prefix is enough)")
    e.add_argument("--out", required=True, metavar="FILE.npz", help="output file")
    r = sub.add_parser("report", help="write the HTML report of a stored sweep")
    r.add_argument("sweep", help="sweep id (a unique prefix is enough)")
    r.add_argument("--out", required=True, metavar="FILE.html", help="output file")
    sub.add_parser("runner", help="(used by the app) run queued sweeps in the background "
                   "until none is left")
    return p


def cmd_sweep(args) -> int:
    from .jobs import run_sweep_job, submit_sweep
    from .store import RunStore

    cfg = sweep_config(args)
    store = RunStore()
    sweep_id = submit_sweep(store, cfg, name=args.name)
    printer = ProgressPrinter(quiet=args.quiet)
    t0 = time.perf_counter()
    analysis = run_sweep_job(store, sweep_id, on_progress=printer, workers=args.workers or None)
    seconds = time.perf_counter() - t0
    printer.done(f"sweep {sweep_id}: {cfg.n_models} models trained and analysed in "
                 f"{seconds:.1f} s (saved in {store.home})")
    _print_sweep(store, sweep_id)
    if args.json:
        _write_json(args.json, _sweep_doc(store, sweep_id) | {"seconds": seconds})
    if args.report:
        _write_report(store, sweep_id, args.report)
    return 0 if analysis is not None else 1


def _print_sweep(store, sweep_id: str) -> None:
    sweep = store.get_sweep(sweep_id)
    print(f"sweep {sweep['id']} {sweep['name']!r}: {sweep['status']}"
          + (f" ({sweep['reason']})" if sweep["reason"] else ""))
    runs = store.list_runs(sweep_id)
    for r in runs:
        if r["status"] != "done":
            print(f"  model {r['index']} (leak {r['leak']}, seed {r['seed']}) {r['status']}: "
                  f"{r['reason']}")
    analysis = sweep["analysis"]
    if not analysis:
        return
    rows = analysis["per_leak"]
    gen = analysis.get("generator")
    if gen:
        print(f"data generator's own B(u) (the ground truth, 1 = isometric): median "
              f"{gen['B_q50']:.4f}, max {gen['B_max']:.4f}")
    print("\nbi-Lipschitz and reconstruction (held-out), per leak:")
    print(format_table(rows, LEAK_COLUMNS))
    print("\nl2 identifiability error between seeds (normalised by latent diameter), "
          "and disentanglement before -> after ICA:")
    print(format_table(rows, FIGURE2_COLUMNS))
    print("\nTheorem-1 fit, rigid error = c * sqrt(2L + L^2) through the origin:")
    for lk in ("L_max", "L_mean"):
        f = analysis["fits"][f"rigid_vs_{lk}"]
        print(f"  L = {lk:<6}  c = {f['c']:.4f}  R^2 = {f['r2']:.3f}  ({f['n']} leaks)")
    t = analysis["trends"]
    print(f"\nrank correlation of the rigid error with L_max: "
          f"{t['rank_corr_rigid_vs_L_max']:.2f}; with the leak, of reconstruction error: "
          f"{t['rank_corr_recon_vs_leak']:.2f}; mean MCC gain from ICA: "
          f"{t['mean_mcc_gain_from_ica']:+.3f}")


def _sweep_doc(store, sweep_id: str) -> dict:
    sweep = store.get_sweep(sweep_id)
    return {"sweep": sweep["id"], "name": sweep["name"], "status": sweep["status"],
            "settings": sweep["config"], "timings": sweep["timings"],
            "analysis": sweep["analysis"], "models": store.list_runs(sweep_id)}


def _write_report(store, sweep_id: str, path: str) -> None:
    from .report import write_report

    try:
        write_report(store, sweep_id, path)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None
    print(f"report written to {path}")


def cmd_list(args) -> int:
    from .store import RunStore

    sweeps = RunStore().list_sweeps()
    if not sweeps:
        print("no sweeps in the store yet: run `python -m nearid_core sweep`")
        return 0
    rows = [{"id": s["id"], "name": s["name"] or "-", "status": s["status"],
             "models": s["n_runs"], "done": s["run_counts"].get("done", 0),
             "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(s["created_at"]))}
            for s in sweeps]
    cols = [(k, k, "") for k in ("id", "created", "status", "models", "done", "name")]
    print(format_table(rows, cols))
    return 0


def cmd_show(args) -> int:
    from .store import RunStore

    _print_sweep(RunStore(), args.sweep)
    return 0


def cmd_delete(args) -> int:
    from .store import RunStore

    store = RunStore()
    sweep_id = store.get_sweep(args.sweep)["id"]
    store.delete_sweep(sweep_id)
    print(f"deleted sweep {sweep_id}")
    return 0


def cmd_export(args) -> int:
    from .export import export_npz
    from .store import RunStore

    try:
        n = export_npz(RunStore(), args.sweep, args.out)
    except OSError as err:
        raise UsageError(f"cannot write {args.out}: {err.strerror}") from None
    print(f"wrote {n} runs to {args.out}")
    return 0


def cmd_report(args) -> int:
    from .store import RunStore

    _write_report(RunStore(), args.sweep, args.out)
    return 0


def cmd_runner(args) -> int:
    from .jobs import runner_loop
    from .store import RunStore

    store = RunStore()
    store.recover()
    ran = runner_loop(store)
    print(f"runner: ran {ran} sweep(s)")
    return 0


def _write_json(path: str, doc: dict) -> None:
    try:
        with open(path, "w") as fh:
            json.dump(doc, fh, indent=1, allow_nan=True)
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror}") from None


COMMANDS = {"sweep": cmd_sweep, "list": cmd_list, "show": cmd_show, "delete": cmd_delete,
            "export": cmd_export, "report": cmd_report, "runner": cmd_runner}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, StoreError) as err:
        print(f"nearid: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nearid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
