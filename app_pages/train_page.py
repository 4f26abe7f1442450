"""Train: the leak slider and the other knobs; a background job with live progress."""

import streamlit as st

from nearid_ui import cache, manage, present, progress, render, texts
from nearid_ui.estimate import budget_caption
from nearid_ui.params import bind, publish
from nearid_ui.widgets import ACTIVE, data_widgets, sweep_label, sweep_parser, train_widgets

render.page("Train", "🏋️")
st.title("Train a leak × seed grid of autoencoders")
st.caption(texts.LEAK + " Training runs in a background process: leave the page, close the "
           "tab or start another sweep — it goes on, and everything finished is saved.")

def form() -> None:
    """The sweep's settings and the train button."""
    cfg, problem = None, None
    with st.expander("Data (preview it on the Data page)", expanded=False):
        try:
            data = data_widgets()
        except ValueError as err:
            data, problem = None, f"The data settings are invalid: {err}"
    try:
        if data is not None:
            cfg = train_widgets(data)
    except ValueError as err:
        problem = f"These settings cannot be trained: {err}"

    if problem:
        st.error(problem)
    elif cfg is not None:
        st.caption(f"{cfg.n_models} models: {len(cfg.leaks)} leak(s) × {cfg.seeds} seed(s) on "
                   f"{cfg.data.kind} data (n = {cfg.data.n:,}, d_u = {cfg.data.d_u}).")
        if cfg.seeds == 1:
            st.info("With one seed per leak there are no seed pairs: the statistical view of "
                    "the Identifiability page will stay empty (the structural view works).")
        if not budget_caption(cfg):  # over the memory budget or the models cap
            cfg = None
    name = st.text_input("Name (optional)", max_chars=80, key="sweep_name")
    sid = manage.train_controls(cfg, name.strip())  # an identical sweep is opened, not retrained
    if sid is not None:
        st.session_state["sweep"] = sid  # follow it below


def jobs() -> None:
    """The stored sweeps' progress and loss curves."""
    st.subheader("Jobs")
    rows = cache.sweeps()
    if not rows:
        st.info("No sweeps yet.")
        return
    by_id = {r["id"]: r for r in rows}
    default = next((r["id"] for r in rows if r["status"] in ACTIVE), rows[0]["id"])
    key = bind("sweep", default, sweep_parser(list(by_id)), options=list(by_id))
    sel = st.selectbox("Show sweep", list(by_id), key=key,
                       format_func=lambda i: sweep_label(by_id[i]))
    publish(key)
    with render.guard("the job panel"):
        progress.job_panel(sel)


# On a projector the loss curves (the page's chart) come first, the form after them.
for part in ((jobs, form) if present.active() else (form, jobs)):
    part()
