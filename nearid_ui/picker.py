"""The sweep and model pickers every result page starts with."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import streamlit as st

from . import cache, render
from .live import ACTIVE, follow, stopped
from .params import bind, number, publish

if TYPE_CHECKING:
    from nearid_core.results import SweepView


def sweep_label(row: dict) -> str:
    when = time.strftime("%d %b %H:%M", time.localtime(row["created_at"]))
    n = row["n_runs"]
    return f"{row['name'] or 'sweep'} · {row['id'][:6]} · {row['status']} · {n} models · {when}"


def sweep_parser(ids: list[str]):
    def parse(text: str) -> str:
        hits = [i for i in ids if i.startswith(text)] if text else []
        if len(hits) != 1:
            raise ValueError("no such sweep in this store" if not hits else "ambiguous id")
        return hits[0]
    return parse


def pick_sweep() -> SweepView | None:
    """Sidebar sweep picker (query param ``sweep``); the view of a done sweep, else a
    message (live progress for a running one) and None. Damaged files of the sweep are
    named in one warning; the parts that can be read are still shown."""
    rows = None
    with render.guard("the list of sweeps"):
        rows = cache.sweeps()
    if rows is None:
        return None
    if not rows:
        st.info("The store has no sweeps yet. Train one on the **Train** page, or press "
                "**Reproduce the paper's warm-up** on the Home page.")
        return None
    ids = [r["id"] for r in rows]
    by_id = {r["id"]: r for r in rows}
    default = next((r["id"] for r in rows if r["status"] == "done"), ids[0])
    key = bind("sweep", default, sweep_parser(ids))
    if st.session_state.get(key) not in by_id:
        st.session_state[key] = default
    sel = st.sidebar.selectbox("Sweep", ids, key=key, format_func=lambda i: sweep_label(by_id[i]),
                               help="Stored sweeps, newest first. The link of this page "
                                    "remembers the choice.")
    publish(key)
    row = by_id[sel]
    if row["status"] in ACTIVE:
        follow(sel)
        return None
    if row["status"] != "done":
        stopped(row, where=" Pick a done sweep for results (the Train page shows this "
                           "one's models).")
        return None
    view = None
    with render.guard(f"sweep {sel}"):
        view = cache.view(sel)
    if view is not None and view.damage:
        st.warning("Some saved files of this sweep cannot be read, so these parts are left "
                   "out below (everything else is shown): " + "; ".join(view.damage) + ".")
    return view


# ---------------------------------------------------------------- data knobs



def model_picker(view: SweepView, *, label: str = "Model"):
    """Pick one finished model whose files can be read (query param ``model``); None when
    there is none."""
    done = view.usable
    if not done:
        st.warning("No model of this sweep finished training: nothing to show." if not view.done
                   else "Every finished model of this sweep has damaged files: nothing to show.")
        return None
    idx = [m.index for m in done]
    default = done[len(done) // 2].index  # a middle leak: neither linear nor ReLU
    key = bind("model", default, number(0, 10**6, integer=True), options=idx)
    labels = {m.index: m.label for m in done}
    sel = st.selectbox(label, idx, key=key, format_func=labels.get,
                       help="One trained model: its leak α and seed.")
    publish(key)
    return view.model(sel)
