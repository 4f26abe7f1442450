"""The overlay picture on a sweep's page: any two of its models, or the true factors against
a model, raw and after each map (``nearid_core.views.overlay``), bound to the URL."""

from __future__ import annotations

import streamlit as st

from nearid_core.views import results
from nearid_core.views.overlay import pair_overlays
from nearid_core.views.plots_overlay import overlay_grid

from . import cache, present
from .glossary import see
from .params import bind, choice, forget, publish

TRUTH = -1  # the "model" index that stands for the true factors u


@st.cache_data(max_entries=64, show_spinner=False)
def _overlays(home_: str, sweep_id: str, stamp: float, a: int, b: int):
    v = cache._view(home_, sweep_id, stamp)
    A = v.u_test if a == TRUTH else v.model(a).latents
    return pair_overlays(A, v.model(b).latents, seed=v.config.seed)


def _name(v: results.SweepView, index: int) -> str:
    if index == TRUTH:
        return "true factors u"
    m = v.model(index)
    return f"#{m.index} (α = {m.leak:g}, seed {m.seed})"


KEYS = ("ova", "ovb", "ovc")  # the overlay's widgets, bound to the URL


def section(v: results.SweepView) -> None:
    """Pick A (a model or the truth) and B (a model); draw the four panels.

    Folded away until opened (a link with a pick opens it), and computed only when open:
    drawn, it held the page's first chart back by a second (measured, sidebar navigation to
    a done paper warm-up's Identifiability page, medians of 8: 2.10 s, folded 1.05 s).
    """
    models = [m.index for m in v.usable if m.latents is not None]
    if len(models) < 1 or v.u_test is None:
        st.info("No finished model with stored latents: nothing to overlay yet.")
        return
    st.subheader("Overlay: B's latents on A's, raw and after each map")
    linked = any(k in st.query_params for k in KEYS)
    box = st.expander("Pick A and B, and draw the overlay", expanded=linked, key="ov_open",
                      on_change="rerun")
    if not box.open:
        for key in KEYS:  # closed: the page's link opens it closed too
            forget(key)
        return
    with box:
        _draw(v, models)


def _draw(v: results.SweepView, models: list[int]) -> None:
    c1, c2, c3 = st.columns([1.2, 1.2, 0.6])
    a_opts, factors = [TRUTH, *models], list(range(v.u_test.shape[1]))
    a = c1.selectbox("A (reference)", a_opts, format_func=lambda i: _name(v, i),
                     help="The representation B is mapped onto: a model's latents, or the "
                          "true factors (structural)." + see("statistical", "structural"),
                     key=bind("ova", models[0], choice(a_opts), options=a_opts))
    publish("ova")
    b_default = next((i for i in models if i != a and (a == TRUTH or v.model(i).leak ==
                                                        v.model(a).leak)), models[0])
    b = c2.selectbox("B (mapped onto A)", models, format_func=lambda i: _name(v, i),
                     key=bind("ovb", b_default, choice(models), options=models))
    publish("ovb")
    factor = c3.selectbox("Colour", factors, format_func=lambda k: f"u{k + 1}",
                          key=bind("ovc", 0, choice(factors), options=factors))
    publish("ovc")
    overlays, rows = _overlays(cache.home(), v.id, v.updated_at, a, b)
    present.plot(overlay_grid(overlays, a_name=_name(v, a), b_name=_name(v, b),
                              colour=v.u_test[rows, factor], colour_name=f"u{factor + 1}"),
                 key="ident_overlay")
    st.caption(f"{len(rows)} held-out points of the eval half (the errors are measured there; "
               "each map is fitted on the fit half). Circles: A; crosses: B after the map; "
               "grey: the residual of a sample of points. Panels use A's axes when A has two "
               "dimensions, else A's top-2 principal plane; the ICA panel uses ICA(A)'s "
               "components. A model against itself has zero error in every panel.")
