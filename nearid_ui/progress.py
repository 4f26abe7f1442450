"""The Train page's job panel: live progress, loss curves per model, Cancel.

Polls the run store (never blocks): while a sweep is queued or running the panel is a
fragment that redraws every second; when the sweep ends the whole page reruns once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nearid_core.runs.runner import runner_alive
from nearid_core.views import plots

from . import cache, render
from .jobs import ensure_runner, runner_enabled
from .live import ACTIVE, STOPPED, progress_bar, stopped
from .manage import manage_panel

METRICS = ("recon_mse", "L_max")
MISSING = "—"  # a metric not measured (yet): shown as a dash beside the status, never None


def run_status(run: dict, sweep_status: str) -> str:
    """A run's status as shown: a run still live under a sweep that ended is 'stopping'
    (its owner records how it ended within a second), not a stale 'running'."""
    if run["status"] in ACTIVE and sweep_status not in ACTIVE:
        return f"stopping ({sweep_status})"
    return run["status"]


def _runs_table(runs: list[dict], damaged: dict[int, str], sweep_status: str) -> pd.DataFrame:
    rows = [{"model": r["index"], "leak": r["leak"], "seed": r["seed"],
             "status": run_status(r, sweep_status), "reason": r["reason"] or "",
             **{k: (r["metrics"] or {}).get(k) for k in METRICS}} for r in runs]
    if damaged:
        for row in rows:
            row["damaged"] = damaged.get(row["model"], "")
    df = pd.DataFrame(rows)
    for k in METRICS:  # numbers where every model has one; else text with a dash
        if k in df and df[k].isna().any():
            df[k] = [MISSING if v is None or v != v else f"{v:.4g}" for v in df[k]]
    return df


MAX_CURVES = 48  # above this many models, one median and range per leak, not a line each


def _loss_figure(runs: list[dict], per_epoch: dict[int, np.ndarray] | None):
    """The loss chart: a line per model, or above ``MAX_CURVES`` models each leak's median
    and range (a line per model would cost the browser most of a core at every redraw)."""
    by_leak = plots.leak_colors({r["leak"] for r in runs})
    x_title = "epoch" if per_epoch is not None else "progress report (every ~0.5 s)"
    drawn = [(r, y) for r in runs if (y := _curve(r, per_epoch)) is not None]
    if len(runs) > MAX_CURVES:
        bands: dict[str, list[np.ndarray]] = {}
        colors, failed = {}, {}
        for r, y in drawn:
            if r["status"] == "failed":
                failed[_label(r)] = y
                continue
            bands.setdefault(_group(r), []).append(y)
            colors[_group(r)] = by_leak[r["leak"]]
        title = f"Training loss per leak: median and range over {len(runs)} models"
        return (plots.loss_bands(bands, colors=colors, failed=failed, x_title=x_title,
                                 title=title), bool(drawn))
    curves = {_label(r): y for r, y in drawn}
    return (plots.loss_curves(curves, failed={_label(r) for r in runs
                                              if r["status"] == "failed"},
                              colors={_label(r): by_leak[r["leak"]] for r in runs},
                              groups={_label(r): _group(r) for r in runs},
                              x_title=x_title), bool(curves))


def _curve(run: dict, per_epoch: dict[int, np.ndarray] | None) -> np.ndarray | None:
    """A model's losses: per epoch when known, else the progress reports; None if none."""
    if per_epoch is not None and run["index"] in per_epoch:
        return np.asarray(per_epoch[run["index"]], float)
    return np.asarray(run["loss_history"], float) if run["loss_history"] else None


def _label(run: dict) -> str:
    return f"#{run['index']} α={run['leak']:g} s={run['seed']}"


def _group(run: dict) -> str:
    return f"α = {run['leak']:g}"


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
    render.table(_runs_table(runs, damaged or {}, row["status"]),
                 key=f"runs_{row['id']}_{row['status']}", name=f"nearid-runs-{row['id']}")


@st.fragment(run_every=1.0)
def _live(sweep_id: str, shown: str) -> None:
    """Redraws the panel every second while the sweep, or one of its runs, is live; the
    whole page reruns when the sweep's status is no longer ``shown``."""
    row = cache.sweep_row(sweep_id)
    if row is None or row["status"] != shown:
        st.rerun()
    runs = cache.store().list_runs(sweep_id)
    if row["status"] not in ACTIVE and not any(r["status"] in ACTIVE for r in runs):
        st.rerun()  # the owner has recorded how every run ended
    with render.guard("the live progress"):  # a fragment rerun runs outside the page's guard
        _body(row, runs, None)


def job_panel(sweep_id: str) -> None:
    """Progress, loss curves and model table of one sweep (live while it runs, and while a
    cancelled sweep's runs are stopping), then rename and delete."""
    row = cache.sweep_row(sweep_id)
    if row is None:
        st.warning(f"Sweep {sweep_id} is no longer in the store.")
        return
    runs = cache.store().list_runs(sweep_id)
    if row["status"] in ACTIVE or any(r["status"] in ACTIVE for r in runs):
        _live(sweep_id, row["status"])
        manage_panel(row)
        return
    v = cache.view(sweep_id)
    per_epoch = {m.index: m.loss_history for m in v.models if m.loss_history is not None}
    _body(row, runs, per_epoch or None, v.damage,
          {m.index: m.damaged for m in v.models if m.damaged})
    if row["status"] == "done" or v.usable:
        if row["status"] == "done":
            st.success("Done. Open the results:")
        else:
            st.caption("The models that finished open on the result pages:")
        cols = st.columns(4)
        for col, (path, label) in zip(cols, [
                ("app_pages/bilipschitz_page.py", "Bi-Lipschitz"),
                ("app_pages/identifiability_page.py", "Identifiability"),
                ("app_pages/ica_page.py", "ICA"), ("app_pages/paper_page.py", "Paper")], strict=True):
            col.page_link(path, label=label, query_params={"sweep": sweep_id})
    manage_panel(row)
