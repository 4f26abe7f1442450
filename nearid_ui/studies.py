"""Stored studies on their pages (Disentanglement, Batch effects): run, pick, follow, manage.

A study is queued for the background runner like a sweep (``runs.study_jobs``), so it
trains off the server, survives a closed tab, and can be cancelled; this module is the part
both study pages share. The study shown is in the URL (``?study=ID``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np
import streamlit as st

from nearid_core.runs.store import StoreError

from . import cache, jobs, live, params, render

__all__ = ["arrays", "body", "follow", "manage", "picker", "run_button"]

KEY = "study"  # session key and URL parameter of the study shown
STOPPED_WORDS = {"interrupted": "was **interrupted**", "failed": "**failed**",
                 "cancelled": "was **cancelled**"}


def _rows(kind: str) -> list[dict]:
    return cache.store().list_sweeps(kind=kind)


def run_button(kind: str, settings: dict, *, name: str = "", label: str = "Run") -> str | None:
    """A button that queues the study for the background runner and shows it; returns the
    new id, or None (not pressed, or a setting refused: one message on screen)."""
    from nearid_core.runs.study_jobs import submit_study

    readonly = cache.readonly()
    if not st.button(label, type="primary", key=f"run_{kind}", icon=":material/play_arrow:",
                     disabled=readonly, help="The store is read-only." if readonly else
                     "Queued for the background runner: the page follows it, and it goes on "
                     "if you leave."):
        return None
    try:
        sid = submit_study(cache.store(), kind, settings, name=name)
    except ValueError as err:
        st.error(f"Cannot run these settings: {render.scrub(str(err))}")
        return None
    except StoreError as err:
        st.error(f"Cannot queue the study: {render.store_message(err)}")
        return None
    if jobs.runner_enabled() and not jobs.warm_runner_starting():
        jobs.ensure_runner(cache.store())
    st.session_state[KEY] = sid
    params.publish(KEY, sid)
    return sid


def _label(row: dict) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"]))
    name = f"{row['name']} · " if row["name"] else ""
    return f"{name}{row['id']} · {row['status']} · {when}"


def picker(kind: str) -> dict | None:
    """The stored studies of this kind, newest first; the chosen one's row, or None."""
    rows = _rows(kind)
    if not rows:
        params.forget(KEY)
        st.info("No study of this kind is stored yet: press **Run** above.")
        return None
    by_id = {r["id"]: r for r in rows}
    ids = list(by_id)
    key = params.bind(KEY, ids[0], str, options=ids)
    chosen = st.selectbox("Stored study", ids, key=key, format_func=lambda i: _label(by_id[i]),
                          help="Every study run here or from the command line, newest first.")
    params.publish(KEY, chosen)
    return by_id[chosen]


def follow(row: dict) -> bool:
    """True when there is nothing to show yet: live progress (queued, running) or why the
    study stopped (interrupted, failed, cancelled); False when it is done."""
    if row["status"] in live.ACTIVE:
        _follow(row["id"], row["status"])
        return True
    if row["status"] in STOPPED_WORDS:
        why = (row["reason"] or "no reason recorded").rstrip(".")
        text = (f"Study {row['id']} {STOPPED_WORDS[row['status']]}: {why}. Run it again with "
                "the settings above.")
        (st.warning if row["status"] == "cancelled" else st.error)(text)
        return True
    return False


@st.fragment(run_every=live.POLL_S)
def _follow(study_id: str, shown: str) -> None:
    row = cache.live_row(study_id)
    if row is None or row["status"] != shown:
        st.rerun()
    st.info(f"Study {study_id} is **{row['status']}**: its results appear here when it "
            "finishes; it goes on if you leave the page.")
    live.progress_bar(row)
    st.button("Cancel", key=f"cancel_{study_id}", on_click=_cancel, args=(study_id,),
              icon=":material/stop:", disabled=cache.readonly())


def _cancel(study_id: str) -> None:
    try:
        cache.store().request_cancel(study_id)
    except StoreError as err:
        st.error(f"Could not cancel: {render.store_message(err)}")


def _document(row: dict) -> str:
    doc = {"id": row["id"], "name": row["name"], "study": row["config"]["study"],
           "settings": row["config"]["settings"], "result": row["analysis"],
           "timings": row["timings"]}
    return json.dumps(doc, indent=1, allow_nan=False)


def manage(row: dict | None, *, report: Callable[[dict, dict], str],
           arrays: dict | None = None) -> None:
    """Downloads (JSON document, HTML report), rename and delete, for the study shown."""
    if row is None:
        return
    sid, done = row["id"], row["status"] == "done"
    with st.expander("Export, rename or delete this study"):
        c1, c2 = st.columns(2)
        c1.download_button("Result as JSON", data=lambda: _document(row), disabled=not done,
                           file_name=f"nearid-{row['config']['study']}-{sid}.json",
                           mime="application/json", key=f"dl_json_{sid}", on_click="ignore",
                           icon=":material/download:")
        c2.download_button("Report as HTML", data=lambda: report(row, arrays or {}),
                           disabled=not done, file_name=f"nearid-{row['config']['study']}-"
                           f"{sid}.html", mime="text/html", key=f"dl_report_{sid}",
                           on_click="ignore", icon=":material/download:",
                           help="Tables, figures and settings in one file that opens offline.")
        if cache.readonly():
            st.caption("The store is read-only: rename and delete are off.")
            return
        name = st.text_input("Name", value=row["name"], key=f"name_{sid}", max_chars=200)
        if st.button("Rename", key=f"rename_{sid}", disabled=name == row["name"]):
            _apply(lambda: cache.store().rename_sweep(sid, name), f"Study {sid} renamed.")
        sure = st.checkbox("Yes, delete this study and its files", key=f"sure_{sid}",
                           disabled=row["status"] in live.ACTIVE)
        if st.button("Delete", key=f"delete_{sid}", disabled=not sure,
                     icon=":material/delete:", help="Cancel a queued or running study first."
                     if row["status"] in live.ACTIVE else None):
            _apply(lambda: cache.store().delete_sweep(sid), f"Study {sid} deleted.",
                   forget=True)


def _apply(action: Callable[[], None], done: str, *, forget: bool = False) -> None:
    try:
        action()
    except (StoreError, ValueError) as err:
        st.error(render.scrub(getattr(err, "message", None) or str(err)))
        return
    if forget:
        st.session_state.pop(KEY, None)
        params.forget(KEY)
    st.toast(done)
    st.rerun()


@st.cache_data(max_entries=8, show_spinner=False)
def _arrays(home: str, study_id: str, stamp: float) -> dict[str, np.ndarray]:
    from nearid_core.runs.study_jobs import load_traversals

    return load_traversals(cache.store(), study_id)


def arrays(row: dict | None) -> dict[str, np.ndarray]:
    """The study's stored arrays (a disentangle study's traversal images), cached; {}."""
    if row is None or row["status"] != "done":
        return {}
    try:
        return _arrays(cache.home(), row["id"], row["updated_at"])
    except StoreError as err:
        st.warning(f"The study's images cannot be read: {render.store_message(err)}")
        return {}


def body(kind: str, settings: dict, *, name: str, command: str,
         results: Callable[[dict], None], report: Callable[[dict, dict], str]) -> None:
    """A study page below its introduction: Run with ``settings``, the command line that
    does the same, the stored studies, and the chosen one's progress or ``results``, then
    its downloads, rename and delete."""
    run_button(kind, settings, name=name)
    st.caption(f"The same study from the command line: `{command}`")
    st.divider()
    row = picker(kind)
    if row:
        if not follow(row):
            results(row)
        manage(row, report=report, arrays=arrays(row))
