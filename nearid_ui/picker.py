"""The sweep and model pickers every result page starts with.

A sweep that stopped early (cancelled, interrupted, failed) but has trained models with
readable files opens like a done one, under a banner that says what is missing; a page
that cannot show anything without the sweep's analysis says so instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import streamlit as st

from . import cache, render
from .glossary import see
from .live import ACTIVE, STOPPED, follow, stopped
from .params import bind, number, publish

if TYPE_CHECKING:
    from nearid_core.views.results import SweepView

PAGE_KEY = "_nearid_page"  # session key: url_path of the page being drawn (set by app.py)
LABEL_CHARS = 28  # the sidebar's select box shows about 30 characters
# What each result page draws from the sweep's analysis; None: the page needs nothing else.
NEEDS_ANALYSIS = {"Identifiability": "the Identifiability numbers (errors, fits, ICA "
                                     "efficiency) need",
                  "Paper": "the computed tables and claims need",
                  "ICA": "the scores and latents after ICA need",
                  "Bi-Lipschitz": "the per-leak table needs"}
ONLY_WITH_ANALYSIS = ("Identifiability",)  # pages with nothing to show without it


def escape_md(text: str) -> str:
    """``text`` shown literally in Markdown (a user's sweep name cannot add a link or an
    image that would fetch from another host)."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~$" else c for c in text)


def created_text(row: dict) -> str:
    return time.strftime("%d %b %H:%M", time.localtime(row["created_at"]))


def sweep_label(row: dict) -> str:
    """'done · 728dff · paper warm-up (t…': status and id first, the name cut to fit the
    sidebar (``LABEL_CHARS``); ``sweep_details`` has the rest."""
    text = f"{row['status']} · {row['id'][:6]} · {row['name'] or 'sweep'}"
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"


def sweep_details(row: dict) -> str:
    """Everything that tells a sweep apart, on one line."""
    c = row["config"]
    d, t, m = c.get("data", {}), c.get("train", {}), c.get("model", {})
    leaks = ", ".join(f"{a:g}" for a in c.get("leaks", ()))
    return (f"**{escape_md(row['name'] or 'sweep')}** · `{row['id']}` · {row['status']} · "
            f"{row['n_runs']} models · {created_text(row)}  \n{d.get('kind')} data, "
            f"n = {d.get('n', 0):,}, d_u = {d.get('d_u')}; leaks {leaks}; {c.get('seeds')} "
            f"seeds; {t.get('epochs')} epochs; {m.get('decoder')} decoder; master seed "
            f"{c.get('seed', 0)}")


def sweep_parser(ids: list[str]):
    def parse(text: str) -> str:
        hits = [i for i in ids if i.startswith(text)] if text else []
        if len(hits) != 1:
            raise ValueError("no such sweep in this store" if not hits else "ambiguous id")
        return hits[0]
    return parse


def current_page() -> str:
    """The url_path of the page being drawn ("Identifiability"), "" when unknown.

    Read from Streamlit's pages manager, which knows it whether app.py's ``st.navigation``
    chose the page or an AppTest page switch ran the page without app.py; app.py's note in
    the session state is the fallback.
    """
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        pm = get_script_run_ctx().pages_manager
        info = pm.get_pages().get(pm.current_page_script_hash) or {}
        if info.get("url_pathname"):
            return str(info["url_pathname"])
    except (ImportError, AttributeError):
        pass
    return st.session_state.get(PAGE_KEY, "")


def missing(view: SweepView, page: str = "", *, status: bool = True) -> str:
    """What a stopped sweep lacks, e.g. 'cancelled: 3 of 6 leaks trained (12 of 24
    models); no analysis — the Identifiability numbers need the analysis'."""
    leaks = {m.leak for m in view.usable}
    text = (f"{view.status}: " if status else "") + (
        f"{len(leaks)} of {len(view.leaks)} leaks trained ({len(view.usable)} of "
        f"{len(view.models)} models)")
    if not view.analysis:
        what = NEEDS_ANALYSIS.get(page, "the results that compare models need")
        text += f"; no analysis — {what} the analysis"
    return text


def _partial(row: dict, page: str) -> SweepView | None:
    """The view of a stopped sweep with usable models, under a banner; else None."""
    view = None
    with render.guard(f"sweep {row['id']}"):
        view = cache.view(row["id"])
    if view is None or not view.usable:
        stopped(row, where=" Pick a done sweep for results (the Train page shows this "
                           "one's models).")
        return None
    stopped(row, where=f" Shown here: what finished — {missing(view, page, status=False)}.")
    if not view.analysis and page in ONLY_WITH_ANALYSIS:
        st.info(f"Nothing to show on this page: {NEEDS_ANALYSIS[page]} the sweep's analysis, "
                "which runs after every model has trained. The Bi-Lipschitz and ICA pages "
                "show what the finished models measured.")
        return None
    return view


def _select(rows: list[dict]) -> dict:
    """The sidebar select box (query param ``sweep``) and the details of the chosen row."""
    ids = [r["id"] for r in rows]
    by_id = {r["id"]: r for r in rows}
    default = next((r["id"] for r in rows if r["status"] == "done"), ids[0])
    key = bind("sweep", default, sweep_parser(ids))
    if st.session_state.get(key) not in by_id:
        st.session_state[key] = default
    sel = st.sidebar.selectbox("Sweep", ids, key=key, format_func=lambda i: sweep_label(by_id[i]),
                               help="Stored sweeps, newest first: status · id · name (cut "
                                    "to fit; the full details are under the box). The link "
                                    "of this page remembers the choice." + see("sweep"))
    publish(key)
    st.sidebar.caption(sweep_details(by_id[sel]))
    return by_id[sel]


def _done_view(row: dict, page: str) -> SweepView | None:
    view = None
    with render.guard(f"sweep {row['id']}"):
        view = cache.view(row["id"])
    if view is not None and not view.analysis:
        st.warning(f"Sweep {row['id']} is done but has no analysis: {missing(view, page)}.")
        if page in ONLY_WITH_ANALYSIS:
            return None
    return view


def pick_sweep(*, page: str | None = None) -> SweepView | None:
    """Sidebar sweep picker (query param ``sweep``).

    Returns the view of a done sweep, or of a stopped one with trained models (under a
    banner saying what is missing); None otherwise, after a message (live progress for a
    queued or running sweep). ``page`` (default: the page being drawn) decides whether a
    sweep without its analysis can be shown. Damaged files are named in one warning; the
    parts that can be read are still shown.
    """
    page = current_page() if page is None else page
    rows = None
    with render.guard("the list of sweeps"):
        rows = cache.sweeps()
    if rows is None:
        return None
    if not rows:
        st.info("The store has no sweeps yet. Train one on the **Train** page, or press "
                "**Reproduce the paper's warm-up** on the Home page.")
        return None
    row = _select(rows)  # one read for the label, the banner and the live bar
    if row["status"] in ACTIVE:
        follow(row["id"], shown=row["status"])
        return None
    view = _partial(row, page) if row["status"] in STOPPED else _done_view(row, page)
    if view is not None and view.damage:
        st.warning("Some saved files of this sweep cannot be read, so these parts are left "
                   "out below (everything else is shown): " + "; ".join(view.damage) + ".")
    return view


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
                       help="One trained model: its leak α and seed." + see("leak", "seed"))
    publish(key)
    return view.model(sel)
