"""The sweep and store commands: sweep, list, show, delete, cancel, export, report, runner."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from nearid_core.cli import (
    ProgressPrinter,
    UsageError,
    check_output,
    format_table,
    sweep_config,
)
from nearid_core.commands.common import (
    DAMAGED,
    _check_outputs,
    _empty_folder,
    _missing,
    _reason,
    _status_text,
    _why_no_results,
    _write,
    open_store,
)
from nearid_core.runs.store import RunStore, default_home

LEAK_COLUMNS = [
    ("leak", "leak", ".2f"), ("models", "models", "d"), ("recon_mse", "recon MSE", ".2e"),
    ("B_median", "B med", ".3f"), ("B_q90", "B q90", ".3f"), ("B_max", "B max", ".3f"),
    ("L_max_max", "L_max_max", ".3f"), ("L_max_mean", "L_max_mean", ".3f"),
    ("L_mean_max", "L_mean_max", ".3f"), ("L_mean_mean", "L_mean_mean", ".3f"),
    ("train_s", "time s", ".1f"),
]
FIGURE2_COLUMNS = [
    ("leak", "leak", ".2f"), ("L_max_max", "L_max_max", ".3f"),
    ("L_mean_mean", "L_mean_mean", ".3f"), ("recon_mse", "recon", ".2e"),
    ("stat_perm", "perm", ".4f"), ("stat_rigid", "rigid", ".4f"),
    ("stat_linear", "linear", ".4f"), ("stat_ica", "ICA", ".4f"), ("eff", "ICA eff", ""),
    ("ica_vs_linear", "ICA/lin", ".2f"), ("mcc_before", "MCC", ".3f"),
    ("mcc_after", "MCC+ICA", ".3f"), ("infom_before", "InfoM", ".3f"),
    ("infom_after", "InfoM+ICA", ".3f"),
]
L_LEGEND = ("L_max_max / L_max_mean: max / mean over seeds of each model's max B - 1 "
            "(L_max_max = B max - 1); L_mean_max / L_mean_mean: the same for each model's "
            "mean B - 1.")


def cmd_sweep(args) -> int:
    from nearid_core.engine.budget import BudgetError, check_budget
    from nearid_core.engine.executors import executor_workers, prestart_pool
    from nearid_core.engine.lifecycle import handle_signals

    cfg = sweep_config(args)
    limits = _check_outputs(args)
    cluster = _cluster(args)  # before the store is touched: a dead address costs nothing
    # On a cluster the budget bounds this machine's part: the coordinator's memory.
    limits["cluster"] = executor_workers(cluster) if cluster is not None else None
    try:
        estimate = check_budget(cfg, **limits)
    except BudgetError as err:
        if cluster is not None:
            cluster.shutdown()
        raise UsageError(str(err)) from None
    if cluster is None:  # the pool's fork server imports torch and the science meanwhile
        prestart_pool()
    from nearid_core.runs.jobs import run_sweep_job, submit_sweep

    store = open_store(create=True)
    if not args.quiet:
        where = f" on the Dask cluster at {cluster.address}" if cluster is not None else ""
        print(f"nearid: estimate for {cfg.n_models} models: {estimate.summary()}{where}",
              file=sys.stderr)
    printer, t0 = ProgressPrinter(quiet=args.quiet), time.perf_counter()
    with handle_signals(), _owned(cluster):
        try:
            sweep_id = submit_sweep(store, cfg, name=args.name, claim=True, **limits)
        except BudgetError as err:  # the store's own check, should the limits differ
            raise UsageError(str(err)) from None
        try:
            analysis = run_sweep_job(store, sweep_id, on_progress=printer,
                                     workers=args.workers, executor=cluster)
        finally:
            printer.end_line()
    seconds = time.perf_counter() - t0
    printer.done(_timing_line(store.get_sweep(sweep_id), cfg.n_models, seconds, store.home))
    _print_sweep(store, sweep_id)
    return _write_outputs(store, sweep_id, args, seconds, analysed=analysis is not None)


def _cluster(args):
    """A Dask executor when ``--scheduler`` or ``$NEARID_SCHEDULER`` names a scheduler
    (one line, exit 2, when none answers there), else None: this machine's pool."""
    from nearid_core.engine.dask_engine import DaskUnavailable, open_dask, scheduler_address

    address = scheduler_address(args.scheduler)
    if address is None:
        return None
    try:
        return open_dask(address)
    except DaskUnavailable as err:
        raise UsageError(str(err)) from None


@contextlib.contextmanager
def _owned(executor):
    """Shut ``executor`` down after the block; cancel its tasks at once on an error or a
    signal (the sweep's stop event has already reached the running ones)."""
    if executor is None:
        yield
        return
    try:
        yield
    except BaseException:
        executor.terminate()
        raise
    executor.shutdown(wait=True)


def _timing_line(sweep: dict, n_models: int, seconds: float, home) -> str:
    """Wall-clock times of this command, split as the store recorded them."""
    t = sweep.get("timings") or {}
    if "train_s" in t and "analysis_s" in t:
        rest = seconds - t["train_s"] - t["analysis_s"]
        split = (f"training {t['train_s']:.1f} s + analysis {t['analysis_s']:.1f} s + "
                 f"start-up and saving {max(rest, 0.0):.1f} s")
        return (f"sweep {sweep['id']}: {n_models} models in {seconds:.1f} s wall-clock "
                f"({split}; saved in {home})")
    return (f"sweep {sweep['id']}: {sweep['status']} after {seconds:.1f} s wall-clock "
            f"(saved in {home})")


def _write_outputs(store: RunStore, sweep_id: str, args, seconds: float, *,
                   analysed: bool) -> int:
    if args.json:
        doc = _sweep_doc(store, sweep_id) | {"seconds": seconds}
        data = json.dumps(doc, indent=1, allow_nan=True).encode()
        _write(args.json, lambda fh: fh.write(data), "--json")
        print(f"settings and numbers written to {args.json}")
    if not analysed:  # cancelled: what finished is saved, but there is nothing to report
        print(f"nearid: sweep {sweep_id} was cancelled", file=sys.stderr)
        return 1
    if args.report:
        _write_report(store, sweep_id, args.report)
    return 0


def cmd_runner(args) -> int:
    from nearid_core.engine.lifecycle import handle_signals
    from nearid_core.runs.jobs import runner_loop

    store = open_store(create=True)
    with handle_signals():
        store.recover()
        ran = runner_loop(store, stay_s=args.stay, on_ready=lambda: print(
            f"runner: warm (pid {os.getpid()}), waiting up to {args.stay:g} s for sweeps",
            flush=True))
    print(f"runner: ran {ran} sweep(s)")
    return 0


# ---------------------------------------------------------------- reading the store


def _print_sweep(store: RunStore, sweep_id: str) -> None:
    sweep = store.get_sweep(sweep_id)
    print(f"sweep {sweep['id']} {sweep['name']!r}: {_status_text(sweep)}")
    counts = ", ".join(f"{n} {s}" for s, n in sweep["run_counts"].items() if n)
    print(f"  models: {counts or 'none'}")
    runs = store.list_runs(sweep["id"])
    for r in runs:
        if r["status"] != "done" and r["reason"]:
            print(f"  model {r['index']} (leak {r['leak']}, seed {r['seed']}) {r['status']}: "
                  f"{_reason(r['reason'])}")
    if sweep["analysis"]:
        orthogonal = (sweep["config"].get("model") or {}).get("decoder") == "orthogonal"
        _print_analysis(sweep["analysis"], runs, orthogonal=orthogonal)
    else:
        print(f"no results: {_why_no_results(sweep)}")


def _print_analysis(analysis: dict, runs: list[dict], *, orthogonal: bool) -> None:
    from nearid_core.science import efficiency
    from nearid_core.studies import summary
    from nearid_core.studies.claims import N_HIDDEN_DECODER, claim_rows, l_dips, l_drivers

    rows = summary.leak_rows(analysis, runs)
    for r in rows:
        r["eff"] = efficiency.short(r["ica_efficiency"], r["ica_efficiency_note"])
    gen = analysis.get("generator")
    if gen:
        print(f"data generator's own B(u) (the ground truth, 1 = isometric): median "
              f"{gen['B_q50']:.4f}, max {gen['B_max']:.4f}")
    print("\nbi-Lipschitz and reconstruction (held-out), per leak:")
    print(format_table(rows, LEAK_COLUMNS))
    print(L_LEGEND)
    print("\nl2 identifiability error between seeds (normalised by latent diameter), "
          "and disentanglement before -> after ICA:")
    print(format_table(rows, FIGURE2_COLUMNS))
    print(efficiency.LEGEND)
    for r in rows:
        if not r["eff"].endswith("%"):
            print(f"  leak {r['leak']:g}: {r['ica_efficiency_note']}")
    _print_fits(analysis, runs)
    print("\nthe paper's warm-up claims on this sweep:")
    for c in claim_rows(rows, extra=True):
        print(f"  {c['claim']}: {c['verdict']}")
    K = N_HIDDEN_DECODER if orthogonal else None
    for text in l_dips(rows, l_drivers(rows, K=K), K=K):
        print(f"  why L falls: {text}")


def _print_fits(analysis: dict, runs: list[dict]) -> None:
    from nearid_core.studies.summary import L_BASES, L_SUMMARIES, theorem1_fits

    print("\nTheorem-1 fit of the rigid error, error = c * sqrt(2L + L^2) through the origin "
          "[95% bootstrap interval over seed pairs], beside the line a + bL:")
    lines = [(f"over leaks, L = {lk}", theorem1_fits(analysis, runs, L_kind=lk,
                                                       groups=("rigid",))["rigid"]["leak"])
             for lk in L_SUMMARIES]
    lines += [(f"over seed pairs, L = the pair's larger {b}", theorem1_fits(
        analysis, runs, L_kind=b, groups=("rigid",))["rigid"]["unit"]) for b in L_BASES]
    width = max(len(w) for w, _ in lines)
    for what, f in lines:
        if not f.ok:
            print(f"  {what:<{width}}  no fit: {f.reason}")
            continue
        print(f"  {what:<{width}}  c = {f.c:.4f} [{f.c_low:.4f}, {f.c_high:.4f}]  "
              f"{f.shapes()}  ({f.n_points} points)" + (f"; {f.note()}" if f.note() else ""))


def _sweep_doc(store: RunStore, sweep_id: str) -> dict:
    from nearid_core.runs.export import (
        sweep_document,  # the same document as the app's JSON download
    )

    return sweep_document(store, sweep_id)


def cmd_list(args) -> int:
    home = default_home()
    if _missing(home) or _empty_folder(home):
        print(f"no sweeps yet (no run store at {str(home)!r}): run "
              "`python -m nearid_core sweep`")
        return 0
    from nearid_core.commands.output import print_comparisons
    from nearid_core.commands.study_store import print_studies

    store = open_store(create=False)
    _list_sweeps(store.list_sweeps())
    print_studies(store)
    print_comparisons(store)
    return 0


def _list_sweeps(sweeps: list[dict]) -> None:
    if not sweeps:
        print("no sweeps in the store yet: run `python -m nearid_core sweep`")
        return
    rows = [{"id": s["id"], "name": s["name"] or "-", "status": s["status"],
             "models": s["n_runs"], "done": s["run_counts"].get("done", 0),
             "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(s["created_at"]))}
            for s in sweeps]
    cols = [(k, k, "") for k in ("id", "created", "status", "models", "done", "name")]
    print(format_table(rows, cols))
    ended = [s for s in sweeps if s["reason"] and s["status"] != "done"]
    if ended:
        print("\nwhy sweeps ended early:")
        for s in ended:
            print(f"  {s['id']}  {s['status']}: {_reason(s['reason'])}")


def cmd_show(args) -> int:
    from nearid_core.runs.comparisons import id_kind

    store = open_store(create=False)
    kind, key = id_kind(store, args.sweep)
    if kind == "comparison":
        from nearid_core.commands.output import print_saved

        print_saved(store, key)
    elif (row := store.get_sweep(key))["kind"] != "sweep":
        from nearid_core.commands.study_store import show_study

        show_study(row)
    else:
        _print_sweep(store, key)
    return 0


def cmd_export(args) -> int:
    from nearid_core.runs.export import sweep_arrays, write_npz

    store = open_store(create=False)
    sweep = store.get_sweep(args.sweep)
    if sweep["kind"] != "sweep":  # a study: its document as JSON
        from nearid_core.commands.study_store import write_study_export

        check_output(args.out, ".json", option="--out", force=args.force)
        write_study_export(sweep, args.out)
        return 0
    check_output(args.out, ".npz", option="--out", force=args.force)
    if "data" not in store.list_sweep_arrays(sweep["id"]):
        why = (f"its saved arrays are missing from {store.artefacts_dir / sweep['id']}"
               if sweep["status"] == "done" else _why_no_results(sweep))
        raise UsageError(f"sweep {sweep['id']} has no results to export: {why}")
    try:
        arrays = sweep_arrays(store, sweep["id"])
    except DAMAGED as err:
        raise UsageError(f"the saved arrays of sweep {sweep['id']} cannot be read "
                         f"({type(err).__name__}: {err})") from None
    _write(args.out, lambda fh: write_npz(fh, arrays), "--out")
    print(f"wrote {len(arrays['model_index'])} models of sweep {sweep['id']} to {args.out} "
          "(read it with nearid_core.runs.export.load)")
    for line in json.loads(str(arrays["missing_json"])):
        print(f"  not in the file: {line}")
    return 0


def cmd_report(args) -> int:
    check_output(args.out, ".html", option="--out", force=args.force)
    store = open_store(create=False)
    row = store.get_sweep(args.sweep)
    if row["kind"] != "sweep":
        from nearid_core.commands.study_store import write_study_report

        write_study_report(store, row, args.out)
        return 0
    _write_report(store, row["id"], args.out, option="--out")
    return 0


def _write_report(store: RunStore, sweep_id: str, path: str, option: str = "--report") -> None:
    sweep = store.get_sweep(sweep_id)
    if not sweep["analysis"]:
        raise UsageError(f"sweep {sweep_id} has no results to report: {_why_no_results(sweep)}")
    from nearid_core.views.report import (
        render,  # plotly: seconds to import, only once there is something
    )

    try:
        data = render(store, sweep_id).encode("utf-8")
    except DAMAGED as err:
        raise UsageError(f"the saved results of sweep {sweep_id} cannot be read "
                         f"({type(err).__name__}: {err})") from None
    _write(path, lambda fh: fh.write(data), option)
    print(f"report written to {path}")


# ---------------------------------------------------------------- changing the store


def cmd_delete(args) -> int:
    from nearid_core.runs.comparisons import delete_comparison, id_kind

    store = open_store(create=False)
    kind, key = id_kind(store, args.sweep)
    if kind == "comparison":
        delete_comparison(store, key)
        print(f"deleted saved comparison {key}")
        return 0
    sweep = store.get_sweep(key)
    what = "sweep" if sweep["kind"] == "sweep" else "study"
    if sweep["status"] in ("queued", "running"):
        raise UsageError(f"{what} {sweep['id']} is {sweep['status']}; cancel it first: "
                         f"python -m nearid_core cancel {sweep['id']}")
    store.delete_sweep(sweep["id"])
    print(f"deleted {what} {sweep['id']}")
    return 0


def cmd_cancel(args) -> int:
    store = open_store(create=False)
    sweep = store.get_sweep(args.sweep)
    what = "sweep" if sweep["kind"] == "sweep" else "study"
    if store.request_cancel(sweep["id"]):
        soon = "within a second" if what == "sweep" else "at its next stage"
        then = f"its runner stops {soon}" if sweep["status"] == "running" else "it will not start"
        print(f"cancelled {what} {sweep['id']} (it was {sweep['status']}; {then})")
    else:
        sweep = store.get_sweep(sweep["id"])
        print(f"{what} {sweep['id']} had already ended: {_status_text(sweep)}; "
              "nothing to cancel")
    return 0
