"""Several sweeps side by side on the Bi-Lipschitz and Identifiability pages: pick other done,
analysed sweeps (query param ``overlay=id1,id2``), see them overlaid on the shown one (one
colour per sweep, the legend naming what differs), the table of differing settings and an
HTML report (``nearid_core.views.multi_sweep``).

With nothing picked, a section draws only its picker (and nothing at all when the shown
sweep is not done and analysed, or no other sweep is), so a single sweep's page is as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from . import cache, render
from .glossary import see
from .params import bind, publish
from .picker import sweep_label

if TYPE_CHECKING:
    from nearid_core.views.results import SweepView

KEY = "overlay"
SHORT = {"perm": "perm", "rigid": "rigid", "linear": "linear", "ica": "ICA"}


def _candidates(v: SweepView) -> dict[str, dict]:
    """Other done, analysed sweeps of the store, newest first: id -> row."""
    if v.status != "done" or not v.analysis:
        return {}
    return {r["id"]: r for r in cache.sweeps()
            if r["id"] != v.id and r["status"] == "done" and r["analysis"]}


def _parser(ids: list[str]):
    def parse(text: str) -> list[str]:
        out = []
        for part in (p.strip().lower() for p in text.split(",") if p.strip()):
            hits = [i for i in ids if i.startswith(part)]
            if len(hits) != 1:
                raise ValueError(f"{part[:16]!r} is not a unique id of another done, analysed "
                                 "sweep of this store" if not hits else f"{part!r} is ambiguous")
            out.append(hits[0])
        return list(dict.fromkeys(out))
    return parse


def _publish(picked: list[str]) -> None:
    publish(KEY, picked)  # an empty pick leaves the link clean, and is not restored elsewhere


def pick(v: SweepView) -> list[SweepView]:
    """The shown sweep followed by the other sweeps picked to overlay on it; [] when nothing
    is picked (or nothing can be)."""
    rows = _candidates(v)
    if not rows:
        return []
    ids = list(rows)
    bind(KEY, [], _parser(ids))
    st.session_state[KEY] = [i for i in st.session_state[KEY] if i in rows]  # still offered
    picked = st.multiselect(
        "Overlay other sweeps", ids, key=KEY, format_func=lambda i: sweep_label(rows[i]),
        placeholder="one or more done, analysed sweeps",
        help="Draw other sweeps over this one, one colour per sweep; the legend names the "
             "settings that differ (decoder, data kind, width…), listed in a table under the "
             "chart. The link remembers the choice." + see("sweep", "decoder"))
    _publish(picked)
    return [v, *(cache.view(i) for i in picked)] if picked else []


def _labels(views: list[SweepView]) -> dict[str, str]:
    from nearid_core.views.multi_sweep import sweep_labels

    return sweep_labels({x.id: x.config_dict for x in views}, {x.id: x.name for x in views})


def _name(views: list[SweepView]) -> str:
    return "nearid-sweeps-" + "-".join(x.id[:6] for x in views)


def _differences(views: list[SweepView], labels: dict[str, str], key: str) -> None:
    """The table of differing settings, the per-sweep legend and the report download."""
    from nearid_core.views.multi_sweep import compare_sweeps_html, differing_settings

    rows = differing_settings({x.id: x.config_dict for x in views})
    if rows:
        st.markdown("**What differs between these sweeps** (one column per sweep)")
        render.table(rows, key=f"ms_diff_{key}", name=f"{_name(views)}-settings")
    else:
        st.info("Every stored setting is the same in these sweeps (the legend names them by "
                "name or id).")
    st.caption(" · ".join(f"`{x.id}` {render.scrub(x.name or 'sweep')} = {labels[x.id]}"
                          for x in views))
    st.download_button("Side-by-side report (HTML)", data=lambda: compare_sweeps_html(views),
                       file_name=f"{_name(views)}.html", mime="text/html",
                       key=f"dl_ms_report_{key}", on_click="ignore", icon=":material/download:",
                       help="A self-contained page: what differs, the B(z) and error overlays "
                            "and the numbers per sweep and leak (the same as `python -m "
                            "nearid_core compare-sweeps ... --report`).")


def b_section(v: SweepView) -> None:
    """Bi-Lipschitz: median and 90% quantile of B(z) per leak, sweep by sweep."""
    from nearid_core.views.multi_sweep import b_overlay

    views = pick(v)
    if not views:
        return
    labels = _labels(views)
    render.chart(b_overlay(views, labels), key="ms_b", name=f"{_name(views)}-b")
    st.caption("Each sweep's median (solid) and 90% quantile (dashed) of B(z) over the held-"
               "out points of its models at each leak, the values its own violins show.")
    _differences(views, labels, "b")


def error_section(v: SweepView, kind: str, L_kind: str) -> None:
    """Identifiability: one group's ℓ2 error against L, sweep by sweep, with the numbers."""
    from nearid_core.views.multi_sweep import error_overlay, summary_rows
    from nearid_core.views.plots import GROUP_NAMES

    from .params import choice

    views = pick(v)
    if not views:
        return
    labels = _labels(views)
    groups = list(GROUP_NAMES)
    group = st.radio("Group drawn for every sweep", groups, horizontal=True, format_func=SHORT.get,
                     key=bind("msgroup", "rigid", choice(groups), options=groups))
    publish("msgroup")
    curves = {x.id: cache.error_curves(x, kind, L_kind) for x in views}
    render.chart(error_overlay(views, labels, group, L_kind, kind, curves=curves),
                 key="ms_err", name=f"{_name(views)}-{group}-{kind}-{L_kind}")
    st.caption("Each sweep's mean error per leak (± one standard deviation) against its own "
               "L, and its Theorem-1 fit over leaks (dashed) where it has one; the View and L "
               "choices above apply to every sweep.")
    render.table(summary_rows(views, labels, kind), key="ms_summary",
                 name=f"{_name(views)}-{kind}")
    _differences(views, labels, "err")
