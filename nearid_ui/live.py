"""Following a sweep: live progress with an ETA, and what to do when a sweep stopped early.

Every page that shows a sweep uses these, so a sweep whose runner died (the store reports it
``interrupted`` as soon as its heartbeat goes stale) reads the same everywhere, with the same
offer: restart the background runner, or resubmit the sweep.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from nearid_core.runs.store import TRAINED_PROGRESS, StoreError

from . import cache, jobs, present

log = logging.getLogger("nearid.app")
ACTIVE = ("queued", "running")
STOPPED = ("interrupted", "failed", "cancelled")
ETA_MIN_PROGRESS = 0.02  # below this the rate is mostly start-up cost: no estimate


def duration(seconds: float) -> str:
    """Seconds as '42 s', '3 min 05 s' or '1 h 02 min'."""
    s = max(int(round(seconds)), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def eta_text(row: dict, now: float | None = None) -> str:
    """'ETA 2 min 10 s' from the sweep's ``started_at`` and progress; 'ETA n/a' until the
    sweep runs and has passed 2% (a linear extrapolation, not a promise)."""
    p, t0 = float(row.get("progress") or 0.0), row.get("started_at")
    if row.get("status") != "running" or t0 is None or p <= ETA_MIN_PROGRESS:
        return "ETA n/a"
    elapsed = (time.time() if now is None else now) - t0
    return f"ETA {duration(elapsed * (1.0 - min(p, 1.0)) / p)}"


def elapsed_text(row: dict, now: float | None = None) -> str:
    """'12 s so far' (running, from ``started_at``) or 'waiting 3 s' (queued, from
    ``created_at``): measured, so a bar that sits at 0% while workers start still moves."""
    now = time.time() if now is None else now
    if row.get("status") == "running" and row.get("started_at"):
        return f"{duration(now - row['started_at'])} so far"
    if row.get("status") == "queued" and row.get("created_at"):
        return f"waiting {duration(now - row['created_at'])}"
    return ""


def progress_bar(row: dict) -> None:
    """The sweep's progress bar: status, message, percentage, time so far and ETA."""
    p = min(max(row["progress"] or 0.0, 0.0), 1.0)
    message = row["message"] or ""
    detail = f" · {message}" if message and message != row["status"] else ""
    spent = elapsed_text(row)
    spent = f" · {spent}" if spent else ""
    st.progress(p, text=f"**{row['status']}**{detail} · {p:.0%}{spent} · {eta_text(row)}")


POLL_S = 0.25  # the live progress looks at the store's change token this often near the end
# ... and this often while the models train with more than two such polls to go: each poll
# costs the browser a share of the core training needs (the paper preset, measured: the
# browser's renderer used 0.6-1.1 CPU-s while it trained, polled every 1 s, against
# 1.8-1.9 CPU-s polled every 0.25 s).
TRAINING_POLL_S = 1.0


def poll_every(row: dict, now: float | None = None) -> float:
    """Seconds between two looks at a sweep: ``TRAINING_POLL_S`` while it trains with more
    than two such polls of training left (a linear extrapolation of its progress), else
    ``POLL_S``, so its end shows within a quarter second."""
    p, t0 = float(row.get("progress") or 0.0), row.get("started_at")
    if row.get("status") != "running" or t0 is None or p >= TRAINED_PROGRESS:
        return POLL_S
    if p <= ETA_MIN_PROGRESS:
        return TRAINING_POLL_S  # starting: no estimate yet, and the end is not near
    left = ((time.time() if now is None else now) - t0) * (TRAINED_PROGRESS - p) / p
    return POLL_S if left <= 2 * TRAINING_POLL_S else TRAINING_POLL_S


def follow(sweep_id: str, shown: str | None = None) -> None:
    """Live progress of a queued or running sweep; reruns the whole page when it ends, or
    when its status is no longer ``shown`` (the status the page's labels were drawn with),
    so a label never says "queued" beside a bar that says "running". Polls cheaply
    (``cache.live_row``), every ``poll_every`` seconds: the results appear within a
    quarter second of the end."""
    row = cache.live_row(sweep_id)
    every = POLL_S if row is None else poll_every(row)
    st.fragment(_follow, run_every=every)(sweep_id, shown, every)


def _follow(sweep_id: str, shown: str | None, every: float) -> None:
    row = cache.live_row(sweep_id)
    if row is None or row["status"] not in ACTIVE or (shown and row["status"] != shown):
        st.rerun()
    if poll_every(row) < every:
        st.rerun()  # the end is near: the page's next run polls faster
    st.info(f"Sweep {sweep_id} is **{row['status']}**: results appear here when it finishes. "
            "Loss curves per model are on the Train page.")
    progress_bar(row)
    _load_charting(sweep_id)


PRELOAD_S = 3.0  # long enough for the browser to fetch and compile plotly.js


def preload_charting() -> None:
    """Once per browser session, a blank static chart, so the browser fetches and compiles
    plotly.js (about 3 s of a core, measured) while the user reads the page, not after the
    button is pressed, where it took that core from training for the first 3 s. Drawn in one
    script run only: the next rerun removes it (a chart on a page costs the browser a
    quarter of a core at every poll, measured)."""
    if st.session_state.get(present.CHARTED):
        return
    _blank_chart("charting_preload")


def _load_charting(sweep_id: str) -> None:
    """A blank chart for the first ``PRELOAD_S`` seconds of following a sweep, unless this
    browser session has drawn a chart before: the browser loads plotly.js while the sweep
    runs, so the results draw about 2 s sooner when it ends. Then it goes (see
    ``preload_charting``)."""
    key = f"_charting_{sweep_id}"
    if key not in st.session_state and st.session_state.get(present.CHARTED):
        return  # the browser has plotly.js already
    started = st.session_state.setdefault(key, time.monotonic())
    if time.monotonic() - started > PRELOAD_S:
        return
    _blank_chart(f"charting_{sweep_id}")


def _blank_chart(key: str) -> None:
    import plotly.graph_objects as go

    fig = go.Figure(layout={"height": 40, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                            "xaxis": {"visible": False}, "yaxis": {"visible": False}})
    st.session_state[present.CHARTED] = True
    st.plotly_chart(fig, key=key, config={"displayModeBar": False, "staticPlot": True})


def _resubmit(row: dict) -> None:
    from nearid_core.config import sweep_from_dict

    try:
        sid = jobs.start(cache.store(), sweep_from_dict(row["config"]), name=row["name"] or "")
    except (StoreError, ValueError) as err:
        st.error(f"Could not resubmit the sweep: {getattr(err, 'message', err)}")
        return
    st.session_state["sweep"] = sid  # a callback runs before the pickers are drawn
    st.toast(f"Sweep {sid} queued (a copy of {row['id']}).")


def _runner_down(store) -> bool:
    """Sweeps wait in the queue and no runner takes them."""
    from nearid_core.runs.runner import queued, runner_alive

    try:
        return queued(store) and jobs.runner_enabled() and not runner_alive(store)
    except (StoreError, OSError):
        return False


def _restart_runner() -> None:
    try:
        started = jobs.ensure_runner(cache.store())
    except (StoreError, OSError) as err:
        st.error(f"Could not start the background runner: {getattr(err, 'message', err)}")
        return
    st.toast("Background runner started." if started else "A runner is already running.")


def stopped(row: dict, *, where: str = "") -> None:
    """One message for a sweep that ended early (interrupted, failed, cancelled), with its
    reason, and buttons to resubmit it or restart the background runner."""
    sid, status = row["id"], row["status"]
    why = (row["reason"] or "no reason recorded").removeprefix(f"{status}: ").rstrip(".")
    verb = {"interrupted": "was **interrupted**", "failed": "**failed**",
            "cancelled": "was **cancelled**"}.get(status, f"is **{status}**")
    text = (f"Sweep {sid} {verb}: {why}. Models that finished before stay saved; resubmit it "
            "to train it again." + where)
    (st.warning if status == "cancelled" else st.error)(text)
    store = cache.store()
    readonly = cache.readonly()
    c1, c2 = st.columns(2)
    c1.button("Resubmit this sweep", key=f"resubmit_{sid}", on_click=_resubmit, args=(row,),
              icon=":material/replay:", disabled=readonly,
              help="Queue a new sweep with the same settings and name."
              if not readonly else "The store is read-only.")
    if not readonly and _runner_down(store):
        c2.button("Restart the background runner", key=f"runner_{sid}",
                  on_click=_restart_runner, icon=":material/restart_alt:",
                  help="Queued sweeps wait: no runner is taking them.")
