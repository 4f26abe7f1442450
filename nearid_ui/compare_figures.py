"""The Compare page's figures: pair heatmaps (3+ embeddings) and the overlay of two."""

from __future__ import annotations

import itertools

import numpy as np
import streamlit as st

from nearid_core.science.projection import subsample
from nearid_core.studies.compare import overlay
from nearid_core.views import plots_compare

from . import render
from .glossary import see

OVERLAY_POINTS = 2000  # compare.overlay's default subsample
MAPS = {"raw": "raw (no map)", "perm": "perm", "rigid": "rigid", "linear": "linear",
        "ica": "ICA"}


def heatmaps(result) -> None:
    """Rigid error and ICA efficiency per ordered pair, when there are 3+ embeddings."""
    if len(result.names) < 3:
        return
    st.subheader("Every pair at a glance")
    left, right = st.columns(2)
    with left:
        render.chart(plots_compare.pair_heatmap(
            result.rows, result.names, "rigid", title="Rigid error (B mapped onto A)",
            colorbar="rigid error"), key="cmp_heat_rigid", name="nearid-compare-rigid")
    with right:
        render.chart(plots_compare.pair_heatmap(
            result.rows, result.names, "ica_efficiency", note_key="ica_efficiency_note",
            title="ICA efficiency (blank: n/a, hover for why)", colorbar="efficiency",
            fmt="{:.0%}", tickformat=".0%"), key="cmp_heat_eff", name="nearid-compare-ica-efficiency")
    st.caption("Rows: reference A; columns: candidate B. Values as in the table (without "
               "intervals); blank cells have no number, and their hover says why.")


@st.cache_data(max_entries=64, show_spinner=False)
def _points(key: str, a: str, b: str, group: str, _job, _result):
    """(pa, pb) of one pair and map, cached per job; "raw" is B's first columns as they are."""
    A, B = _job.inputs.embeddings[a], _job.inputs.embeddings[b]
    if group == "raw":
        k = min(A.shape[1], B.shape[1])
        m = np.zeros((B.shape[1], A.shape[1]))
        m[np.arange(k), np.arange(k)] = 1.0  # (d_b, d_a): B's first k columns as A's
        return overlay(A, B, "perm", (m, np.zeros(A.shape[1])), max_points=OVERLAY_POINTS)
    return overlay(A, B, group, _result, pair=(a, b), max_points=OVERLAY_POINTS)


def _colours(job) -> dict[str, tuple[np.ndarray, bool]]:
    """Colour choices: labels (categorical) and each factor (continuous), on all rows."""
    out = {}
    if job.inputs.labels is not None:
        out["label"] = (np.asarray(job.inputs.labels), True)
    if job.inputs.factors is not None:
        for k in range(job.inputs.factors.shape[1]):
            out[f"factor u{k + 1}"] = (job.inputs.factors[:, k], False)
    return out


def _plane(group: str, a: str) -> str:
    return (f"the top-2 principal plane of ICA({a})" if group == "ica"
            else f"{a}'s top-2 principal plane")


def overlay_section(job, result) -> None:
    """Pick an ordered pair and a colour; one tab per map."""
    st.subheader("Overlay: A's points and B's points after each map")
    pairs = list(itertools.permutations(result.names, 2))
    c1, c2 = st.columns(2)
    pair = c1.selectbox("Pair (A ← B)", pairs, key="cmp_pair",
                        format_func=lambda p: f"{p[0]} ← {p[1]}")
    colours = _colours(job)
    colour_name = c2.selectbox("Colour", ["none", *colours], key="cmp_colour",
                               index=1 if colours else 0,
                               help="The uploaded labels or ground-truth factors of each row."
                               + see("factors"))
    idx = subsample(job.inputs.n_rows, OVERLAY_POINTS, seed=0)  # overlay's own rows
    colour, categorical = colours.get(colour_name, (None, False))
    fitted = result.maps.get(tuple(pair), {})
    for tab, group in zip(st.tabs(list(MAPS.values())), MAPS, strict=True):
        with tab:
            if group != "raw" and group not in fitted:
                st.info(f"No {MAPS[group]} map for this pair: see the notes.")
                continue
            with render.guard(f"the {MAPS[group]} overlay"):
                pa, pb = _points(job.key, pair[0], pair[1], group, job, result)
                fig = plots_compare.overlay_figure(
                    pa, pb, a_name=pair[0], b_name=pair[1],
                    map_name="as is" if group == "raw" else f"after {MAPS[group]}",
                    plane=_plane(group, pair[0]), colour=None if colour is None else colour[idx],
                    colour_name=colour_name, categorical=categorical)
                render.chart(fig, key=f"cmp_overlay_{group}", name=f"nearid-overlay-{group}")
    n = job.inputs.n_rows
    shown = (f"All {n:,} rows" if n <= OVERLAY_POINTS
             else f"{OVERLAY_POINTS:,} of {n:,} rows (a seeded sample)")
    st.caption(f"{shown}, fit and eval rows alike, projected on the plane named in "
               "each title (centred on A's mean); grey segments join A_i to h(B_i) for a "
               "sample of rows. Two directions of a higher-dimensional picture: the errors "
               "are in the table. Raw: B's first columns drawn in A's coordinates as they "
               "are (no map).")
