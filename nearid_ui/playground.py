"""The Playground's parts: its stored sweeps (the reference grid, trained once in the
background on the first visit, and exact one-leak sweeps), the slider fragment, the charts.

A slider move reruns only the fragment (``st.fragment``): it reads the cached grid view and
draws four charts built once per setting (``pg_figures``, which also builds the neighbouring
leaks' charts in the background while the current ones are looked at).
Nothing trains in the server process; training goes to the store's background runner.
"""

from __future__ import annotations

import streamlit as st

from nearid_core.config import config_id
from nearid_core.studies import playground as pg
from nearid_core.views import playground as scenes

from . import cache, manage, pg_figures, present, render
from .glossary import see
from .live import ACTIVE, STOPPED, follow, stopped
from .params import bind, choice, number, publish

NEXT_LEAK = "_pg_next_leak"


def kind_picker() -> str:
    kind = st.segmented_control(
        "Data", pg.KINDS, key=bind("kind", "rolled", choice(pg.KINDS), options=pg.KINDS),
        format_func=lambda k: k,
        help=" ".join(pg.KIND_TEXTS.values()) + see("data-process", "isometry"))
    kind = kind or "rolled"
    publish("kind", kind)
    return kind


def _newest_stopped(rows: list[dict], cid: str) -> dict | None:
    same = [r for r in rows if r["status"] in STOPPED and manage.row_config_id(r) == cid]
    return same[0] if same else None


def ensure_sweep(cfg, *, start: bool) -> dict | None:
    """The stored sweep with ``cfg``'s settings, queueing it when there is none and
    ``start``; live progress (and None) while it trains; its stop reason (and None) when
    it ended early; its row when done."""
    rows = cache.sweeps()
    row = manage.identical(rows, cfg)
    if row is None:
        gone = _newest_stopped(rows, config_id(cfg))
        if gone is not None:
            stopped(gone, where=" The Playground needs it.")
            return None
        if not start:
            return None
        if cache.readonly():
            st.info("This run store is read-only and has no Playground grid for these data: "
                    "the Playground needs one trained (open it on a writable store).")
            return None
        sid, _ = manage.start_or_reuse(cache.store(), cfg, pg.sweep_name(cfg))
        row = cache.sweep_row(sid)
    if row is not None and row["status"] in ACTIVE:
        follow(row["id"], row["status"])
        return None
    return row


def exact_leaks(kind: str) -> dict[float, str]:
    """Leak -> sweep id of every done exact (one-leak) Playground sweep of ``kind``."""
    out = {}
    for r in cache.sweeps():
        cfg = r.get("config") or {}
        leaks = cfg.get("leaks") or []
        if r["status"] == "done" and len(leaks) == 1 and pg.is_playground(r) \
                and manage.row_config_id(r) == config_id(pg.exact_config(kind, leaks[0])):
            out.setdefault(float(leaks[0]), r["id"])
    return out


def controls(leaks: list[float], seeds: int, d_u: int) -> tuple[float, str, int]:
    """Leak slider, pair and colour pickers, bound to the URL."""
    c1, c2, c3 = st.columns([3, 1.6, 0.8])
    if st.session_state.get(NEXT_LEAK) in leaks:  # a leak just trained exactly
        st.session_state["leak"] = st.session_state.pop(NEXT_LEAK)
    leak = c1.select_slider(
        "Leak α (0 = linear decoder, B = 1; larger = more curved)", leaks,
        key=bind("leak", 0.5 if 0.5 in leaks else leaks[0], number(0, 1), options=leaks),
        format_func=lambda a: f"{a:g}")
    publish("leak")
    pairs = scenes.pair_choices(seeds)
    pair = c2.selectbox("Compare", list(pairs), format_func=pairs.__getitem__,
                        key=bind("pair", "0-1", choice(list(pairs)), options=list(pairs)))
    publish("pair")
    factors = list(range(d_u))
    factor = c3.selectbox("Colour", factors, format_func=lambda k: f"u{k + 1}",
                          key=bind("colour", 0, choice(factors), options=factors),
                          help="Colour every point by this true factor of its input."
                          + see("factors"))
    publish("colour")
    return leak, pair, factor


def draw(figs: dict) -> None:
    """The overlay picture (top), B(z) and the error bars (middle), the curve (bottom)."""
    present.plot(figs["overlay"], key="pg_overlay", styled=True)
    left, right = st.columns(2)
    with left:
        present.plot(figs["b"], key="pg_b", styled=True)
    with right:
        present.plot(figs["bars"], key="pg_bars", styled=True)
    present.plot(figs["curve"], key="pg_curve", styled=True)
    st.caption(
        "Top: A's held-out points (circles) and B's (crosses), as they are and after each "
        "best map, fitted on the other half of the points; grey lines join a point's two "
        "positions (the residual the error averages). Middle: B(z) of the models shown, and "
        "their four ℓ2 errors. Bottom: the reference grid's rigid error against L (mean over "
        "its pairs, dashed: the Theorem-1 fit); the star is the pair shown.")


def exact_training(kind: str, grid_id: str) -> None:
    """Train the three seeds at a leak between the grid's points (an explicit action)."""
    grid_leaks = cache.view(grid_id).leaks
    with st.expander("A leak between the grid's points, trained exactly"):
        c1, c2 = st.columns([1, 2])
        leak = c1.number_input("Leak α", 0.0, 1.0, 0.37, step=0.01, format="%.2f",
                               key="pg_exact")
        leak = round(float(leak), 4)
        cfg = pg.exact_config(kind, leak)
        if leak in grid_leaks:
            c2.info(f"α = {leak:g} is on the slider already.")
            return
        if c2.button(f"Train {cfg.seeds} models at α = {leak:g} (a few seconds)",
                     disabled=cache.readonly()):
            st.session_state["pg_exact_want"] = leak
        if st.session_state.get("pg_exact_want") == leak:
            row = ensure_sweep(cfg, start=True)
            if row is not None and row["status"] == "done":
                st.session_state[NEXT_LEAK] = leak  # the slider, drawn above, takes it next run
                st.session_state.pop("pg_exact_want", None)
                st.rerun()


def grid_ready(kind: str) -> str | None:
    """The done reference grid's id, else None (with its progress or stop reason shown)."""
    row = ensure_sweep(pg.grid_config(kind), start=True)
    if row is None:
        st.caption(f"The Playground's reference grid ({len(pg.GRID_LEAKS)} leaks × "
                   f"{pg.SEEDS} seeds of small autoencoders on {kind} data) is trained once, "
                   "in the background, and kept in the run store for every later visit.")
        return None
    return row["id"]


@st.fragment
def live_view(kind: str, grid_id: str) -> None:
    """Slider and charts: a move reruns only this fragment (charts built once, the
    neighbouring leaks prefetched: ``pg_figures``)."""
    exact = exact_leaks(kind)
    grid = cache.view(grid_id)
    leaks = sorted({*grid.leaks, *exact})
    leak, pair, factor = controls(leaks, grid.config.seeds, grid.config.data.d_u)
    view = grid if leak in grid.leaks else cache.view(exact[leak])
    style = present.style if present.active() else None
    with render.guard("the Playground"):
        _, figs = pg_figures.figures(view, grid, leak, pair, factor, style)
        draw(figs)
        pg_figures.prefetch(grid, leak, pair, factor, style)
