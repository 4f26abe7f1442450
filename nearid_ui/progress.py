"""The Train page's job panel: live progress, loss curves per model, Cancel.

Polls the run store (never blocks): while a sweep is queued or running the panel is a
fragment that redraws every second; when the sweep ends the whole page reruns once.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from nearid_core import plots
from nearid_core.jobs import runner_alive

from . import cache, render
from .jobs import ensure_runner, runner_enabled
from .live import ACTIVE, STOPPED, progress_bar, stopped


def _runs_table(runs: list[dict], damaged: dict[int, str]) -> list[dict]:
    rows = [{"model": r["index"], "leak": r["leak"], "seed": r["seed"], "status": r["status"],
             "reason": r["reason"] or "", "recon_mse": (r["metrics"] or {}).get("recon_mse"),
             "L_max": (r["metrics"] or {}).get("L_max")} for r in runs]
    if damaged:
        for row in rows:
            row["damaged"] = damaged.get(row["model"], "")
    return rows


def _loss_figure(runs: list[dict], per_epoch: dict[int, np.ndarray] | None):
    curves, failed, colors = {}, set(), {}
    by_leak = plots.leak_colors({r["leak"] for r in runs})
    for r in runs:
        label = f"#{r['index']} α={r['leak']:g} s={r['seed']}"
        colors[label] = by_leak[r["leak"]]
        if per_epoch is not None and r["index"] in per_epoch:
            curves[label] = per_epoch[r["index"]]
        elif r["loss_history"]:
            curves[label] = np.asarray(r["loss_history"], float)
        if r["status"] == "failed":
            failed.add(label)
    x_title = "epoch" if per_epoch is not None else "progress report (every ~0.5 s)"
    return (plots.loss_curves(curves, failed=failed, colors=colors, x_title=x_title),
            bool(curves))


def _header(row: dict) -> None:
    sid, status = row["id"], row["status"]
    progress_bar(row)
    readonly = cache.readonly()
    if status in ACTIVE and readonly:
        st.button("Cancel", key=f"cancel_{sid}", icon=":material/stop:", disabled=True,
                  help=render.READONLY)
        return
    if status == "queued" and runner_enabled() and not runner_alive(cache.store()):
        st.warning("No background runner is running for this store, so the sweep waits "
                   "(it also runs with `python -m nearid_core runner`).")
        if st.button("Start the background runner", key=f"runner_{sid}"):
            ensure_runner(cache.store())
            st.rerun()
    if status in ACTIVE and st.button("Cancel", key=f"cancel_{sid}", icon=":material/stop:",
                                      help="Stops training within a second; models that "
                                           "finished stay saved."):
        if cache.store().request_cancel(sid):
            st.toast(f"Sweep {sid} cancelled.")
        st.rerun()


def _body(row: dict, runs: list[dict], per_epoch, damage: list[str] | None = None,
          damaged: dict[int, str] | None = None) -> None:
    _header(row)
    failed = [r for r in runs if r["status"] == "failed"]
    if row["status"] in STOPPED:
        stopped(row)
    if damage:
        st.warning("Some saved files of this sweep cannot be read (those models are left out "
                   "of the result pages; everything else works): " + "; ".join(damage) + ".")
    for r in failed:
        st.error(f"Model #{r['index']} (leak {r['leak']:g}, seed {r['seed']}) failed: "
                 f"{r['reason'] or 'no reason recorded'}")
    fig, has = _loss_figure(runs, per_epoch)
    if has:
        render.chart(fig, key=f"loss_{row['id']}_{row['status']}", name=f"nearid-loss-{row['id']}")
    else:
        st.caption("Loss curves appear once training reports its first steps.")
    render.table(_runs_table(runs, damaged or {}), key=f"runs_{row['id']}_{row['status']}",
                 name=f"nearid-runs-{row['id']}")


@st.fragment(run_every=1.0)
def _live(sweep_id: str) -> None:
    row = cache.sweep_row(sweep_id)
    if row is None or row["status"] not in ACTIVE:
        st.rerun()
    with render.guard("the live progress"):  # a fragment rerun runs outside the page's guard
        _body(row, cache.store().list_runs(sweep_id), None)


def job_panel(sweep_id: str) -> None:
    """Progress, loss curves and model table of one sweep (live while it runs)."""
    row = cache.sweep_row(sweep_id)
    if row is None:
        st.warning(f"Sweep {sweep_id} is no longer in the store.")
        return
    if row["status"] in ACTIVE:
        _live(sweep_id)
        return
    v = cache.view(sweep_id)
    per_epoch = {m.index: m.loss_history for m in v.models if m.loss_history is not None}
    _body(row, cache.store().list_runs(sweep_id), per_epoch or None, v.damage,
          {m.index: m.damaged for m in v.models if m.damaged})
    if row["status"] == "done":
        st.success("Done. Open the results:")
        cols = st.columns(4)
        for col, (path, label) in zip(cols, [
                ("pages/3_Bi-Lipschitz.py", "Bi-Lipschitz"),
                ("pages/4_Identifiability.py", "Identifiability"),
                ("pages/5_ICA.py", "ICA"), ("pages/6_Paper.py", "Paper")], strict=True):
            col.page_link(path, label=label, query_params={"sweep": sweep_id})
