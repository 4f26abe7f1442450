"""Studies (``disentangle``, ``batch``) in the run store from the command line.

``disentangle`` and ``batch`` record their study in the store as they run (``--no-save``
does not), so that ``list`` shows it, ``show`` prints it, ``export ID --out FILE.json`` and
``report ID --out FILE.html`` write it, and ``cancel`` / ``delete`` act on it, as for
sweeps; the app's study pages list it too.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from nearid_core.cli import UsageError, format_table
from nearid_core.commands.common import _write, open_store, run_study

__all__ = ["add_store_options", "print_studies", "run_or_store", "show_study",
           "study_document", "write_study_export", "write_study_report"]


def add_store_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run store")
    g.add_argument("--name", default="", metavar="TEXT", help="a name for the stored study")
    g.add_argument("--no-save", action="store_true", help="do not record the study in the run "
                   "store (NEARID_HOME)")


def run_or_store(kind: str, settings: dict, args, direct: Callable[[Callable], Any], *,
                 what: str) -> Any:
    """The study's result object: run in this process as the owner of a stored study, or
    with ``--no-save`` by ``direct(on_progress)`` alone."""
    if args.no_save:
        return run_study(direct, quiet=args.quiet, what=what)
    from concurrent.futures import ThreadPoolExecutor

    from nearid_core.runs.study_jobs import submit_study

    store = open_store(create=True)
    try:
        sid = submit_study(store, kind, settings, name=args.name, claim=True)
    except ValueError as err:
        raise UsageError(str(err)) from None
    with ThreadPoolExecutor(1) as ex:
        outcome = run_study(lambda p: _job(store, sid, ex, p), quiet=args.quiet, what=what)
    print(f"stored as study {sid} (`show {sid}`, `report {sid} --out FILE.html`, "
          f"`export {sid} --out FILE.json`)")
    return outcome.result


def _job(store, sid: str, ex, on_progress):
    from nearid_core.runs.study_jobs import run_study_job

    outcome = run_study_job(store, sid, executor=ex, on_progress=on_progress)
    if outcome is None:
        raise UsageError(f"study {sid} was cancelled")
    return outcome


def print_studies(store) -> None:
    """The stored studies as a table (nothing when there are none), for ``list``."""
    rows = [{"id": s["id"], "study": s["kind"], "status": s["status"],
             "name": s["name"] or "-",
             "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(s["created_at"]))}
            for s in store.list_sweeps(kind="study")]
    if not rows:
        return
    print("\nstudies (`show ID`, `report ID --out F.html`, `export ID --out F.json`):")
    print(format_table(rows, [(k, k, "") for k in ("id", "created", "study", "status",
                                                   "name")]))


def study_document(row: dict) -> dict:
    """What ``export`` writes and the app downloads: id, name, study, settings, result."""
    return {"id": row["id"], "name": row["name"], "study": row["kind"],
            "status": row["status"], "settings": row["config"]["settings"],
            "result": row["analysis"], "timings": row["timings"]}


def _need_result(row: dict) -> None:
    if row["status"] != "done" or not row["analysis"]:
        why = f": {row['reason']}" if row.get("reason") else ""
        raise UsageError(f"study {row['id']} has no results: it is {row['status']}{why}")


def write_study_export(row: dict, path: str) -> None:
    _need_result(row)
    data = json.dumps(study_document(row), indent=1, allow_nan=False).encode()
    _write(path, lambda fh: fh.write(data), "--out")
    print(f"study {row['id']} written to {path}")


def write_study_report(store, row: dict, path: str) -> None:
    _need_result(row)
    if row["kind"] == "disentangle":
        from nearid_core.runs.study_jobs import load_traversals
        from nearid_core.views.study_disentangle import report_html

        text = report_html(row, load_traversals(store, row["id"]))
    else:
        from nearid_core.views.study_batch import report_html

        text = report_html(row, {})
    data = text.encode("utf-8")
    _write(path, lambda fh: fh.write(data), "--out")
    print(f"report written to {path}")


def show_study(row: dict) -> None:
    """Status, settings and, once done, the study's main table and verdicts."""
    print(f"study {row['id']} ({row['kind']}) {row['name'] or ''}: {row['status']}"
          + (f" ({row['reason']})" if row.get("reason") else ""))
    print("settings: " + json.dumps(row["config"]["settings"], separators=(",", ":")))
    doc = row["analysis"]
    if row["status"] != "done" or not doc:
        return
    if row["kind"] == "disentangle":
        cols = [("scope", "data", ""), ("method", "code", "")] + [
            (m, m, ".2f") for m in ("infom", "infoe", "infoc", "mcc", "dci")]
        print(format_table(doc["table"], cols))
        for v in doc["verdicts"]:
            word = {True: "PASS", False: "FAIL", None: "n/a"}[v["passed"]]
            print(f"  [{word}] {v['text']}")
        return
    diff = doc["paired_difference"]["difference"]
    print("PCA + ICA − PCA + Rand over the screens, mean [95% t interval]:")
    for metric in ("auroc", "top25", "hoyer"):
        d = diff[metric]
        print(f"  {metric:6s} {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]")
    for r in doc["strength_sweep"]:
        print(f"  strength {r['strength']:g}: top-25% {r['top25_diff']:+.3f} "
              f"[{r['top25_lo']:+.3f}, {r['top25_hi']:+.3f}], AUROC {r['auroc_diff']:+.3f} "
              f"[{r['auroc_lo']:+.3f}, {r['auroc_hi']:+.3f}]")
