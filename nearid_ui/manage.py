"""Managing stored sweeps from the app: reuse an identical one, rename, delete.

Two sweeps are identical when their configs have the same ``config_id`` (sha256 of the
canonical JSON): same data, model, training, leaks, seeds and master seed, so training
again would give the same numbers. ``start_or_reuse`` opens such a sweep instead of
queuing a copy, unless the user asks to train again; an identical sweep still queued or
running is always followed, never doubled (a double click on Train queues one sweep).
"""

from __future__ import annotations

import threading

import streamlit as st

from nearid_core.config import SweepConfig, config_id, sweep_from_dict
from nearid_core.runs.store import LIVE, RunStore, StoreError

from . import cache, jobs, render
from .picker import escape_md

_SUBMIT = threading.Lock()  # one check-then-queue at a time in this server
CONFIRM = "_confirm_delete"  # session key: the sweep whose deletion awaits a yes


def row_config_id(row: dict) -> str | None:
    """The config id of a stored sweep; None when its config no longer parses (a sweep
    of an older nearid is never taken for an identical one)."""
    try:
        return config_id(sweep_from_dict(row["config"]))
    except (ValueError, TypeError, KeyError):
        return None


def identical(rows: list[dict], cfg: SweepConfig) -> dict | None:
    """The stored sweep to reuse for ``cfg``: an identical live one (queued or running)
    first, else the newest identical done one; None when there is neither.

    ``rows`` are ``RunStore.list_sweeps()`` rows (newest first).
    """
    cid = config_id(cfg)
    same = [r for r in rows if r["status"] in (*LIVE, "done") and row_config_id(r) == cid]
    live = [r for r in same if r["status"] in LIVE]
    return (live or same or [None])[0]


def start_or_reuse(store: RunStore, cfg: SweepConfig, name: str = "", *,
                   again: bool = False) -> tuple[str, bool]:
    """Open an identical sweep, or queue ``cfg``; return (sweep id, reused).

    Parameters
    ----------
    store : RunStore
    cfg : SweepConfig
    name : name of a newly queued sweep.
    again : train a new copy even when an identical sweep is done (an identical queued or
        running one is still followed: it will give the same numbers).

    Notes
    -----
    The check and the submission hold one lock per server, so two clicks (or two tabs) of
    this app never queue the same sweep twice; another process (the command line) can.
    """
    with _SUBMIT:
        found = identical(store.list_sweeps(), cfg)
        if found is not None and (not again or found["status"] in LIVE):
            return found["id"], True
        return jobs.start(store, cfg, name=name), False


def took(row: dict) -> str | None:
    """"21 s training + 6 s analysis" from a done sweep's stored timings; None without."""
    t = row.get("timings") or {}
    if not {"train_s", "analysis_s"} <= t.keys():
        return None
    return f"{t['train_s']:.0f} s training + {t['analysis_s']:.0f} s analysis"


def time_claim(cfg: SweepConfig, rows: list[dict]) -> str:
    """How long ``cfg`` takes, from measurement: an identical done sweep's stored timings,
    else the resource estimate (``budget.estimate``) with this machine's calibration."""
    found = identical(rows, cfg)
    if found is not None and found["status"] == "done" and took(found):
        return f"trained here before: {took(found)}"
    from nearid_core.engine import budget, calibration
    from nearid_core.engine.costs import Rates

    rates = calibration.cached_rates()
    est = budget.estimate(cfg, rates=rates or Rates(), warm=cache.runner_warm(),
                          extra_load=cache.APP_LOAD)
    return f"about {budget.format_seconds(est.seconds)}" + (
        " (estimate)" if rates else " (first estimate: this machine is not timed yet)")


def train_controls(cfg: SweepConfig | None, name: str) -> str | None:
    """The Train page's buttons: "Train" queues ``cfg`` or opens an identical sweep (done,
    queued or running), "Train again" (offered when an identical sweep is done) queues a
    copy. Returns the sweep to show, or None when no button was pressed."""
    found = identical(cache.sweeps(), cfg) if cfg is not None else None
    readonly = cache.readonly()
    train = st.button("Train", type="primary", disabled=cfg is None or readonly,
                      icon=":material/play_arrow:", help=render.READONLY if readonly else None)
    again = False
    if found is not None and found["status"] == "done":
        st.caption(f"Trained before with these exact settings (sweep `{found['id'][:6]}`, "
                   f"{took(found) or 'no timings stored'}): **Train** opens it; **Train again** "
                   "queues a copy (same seeds: expect the same numbers).")
        again = st.button("Train again", key="train_again", icon=":material/replay:",
                          disabled=readonly)
    elif found is not None:
        st.caption(f"A sweep with these exact settings is {found['status']} (`"
                   f"{found['id'][:6]}`): **Train** follows it instead of queuing another.")
    if not (train or again):
        return None
    try:
        sid, reused = start_or_reuse(cache.store(), cfg, name, again=again)
    except (StoreError, ValueError) as err:  # e.g. over the budget, a read-only store
        st.error(f"Could not queue the sweep: {getattr(err, 'message', None) or err}")
        return None
    st.toast(f"Opened sweep {sid[:6]}: it has these exact settings." if reused
             else f"Sweep {sid} queued.")
    return sid


# ---------------------------------------------------------------- rename and delete

def _rename(sid: str) -> None:
    try:
        cache.store().rename_sweep(sid, st.session_state.get(f"rename_{sid}", ""))
    except (StoreError, ValueError) as err:
        st.session_state[f"_manage_error_{sid}"] = getattr(err, "message", None) or str(err)
        return
    st.toast(f"Sweep {sid[:6]} renamed.")


def _ask_delete(sid: str) -> None:
    st.session_state[CONFIRM] = sid


def _delete(sid: str) -> None:
    st.session_state.pop(CONFIRM, None)
    try:
        cache.store().delete_sweep(sid)
    except StoreError as err:
        st.session_state[f"_manage_error_{sid}"] = getattr(err, "message", None) or str(err)
        return
    st.session_state.pop("sweeps_table", None)  # the Home table's row selection
    st.toast(f"Sweep {sid[:6]} deleted.")


def _keep(sid: str) -> None:
    st.session_state.pop(CONFIRM, None)


def manage_panel(row: dict) -> None:
    """Rename the sweep, or delete it (after a confirmation); a live sweep is refused with
    "cancel it first". Disabled on a read-only store."""
    sid, readonly = row["id"], cache.readonly()
    with st.expander("Rename or delete this sweep"):
        problem = st.session_state.pop(f"_manage_error_{sid}", None)
        if problem:
            st.error(problem)
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input("Name", value=row["name"] or "", max_chars=200, key=f"rename_{sid}",
                      disabled=readonly)
        c2.button("Rename", key=f"do_rename_{sid}", on_click=_rename, args=(sid,),
                  disabled=readonly)
        if row["status"] in LIVE:
            st.button("Delete…", key=f"delete_{sid}", disabled=True,
                      help=f"This sweep is {row['status']}: cancel it first, then delete it.")
            st.caption(f"This sweep is **{row['status']}**: cancel it first (Cancel on the "
                       "Train page), then delete it.")
        elif st.session_state.get(CONFIRM) == sid:
            st.warning(f"Delete sweep {sid} ({escape_md(row['name'] or 'no name')}): its "
                       f"{row['n_runs']} models, their files and its analysis? This cannot "
                       "be undone.")
            y, n = st.columns(2)
            y.button("Yes, delete it", key=f"yes_delete_{sid}", type="primary",
                     on_click=_delete, args=(sid,), disabled=readonly)
            n.button("Keep it", key=f"keep_{sid}", on_click=_keep, args=(sid,))
        else:
            st.button("Delete…", key=f"delete_{sid}", on_click=_ask_delete, args=(sid,),
                      disabled=readonly, help="Asks for a confirmation first.")
