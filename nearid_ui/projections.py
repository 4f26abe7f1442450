"""The projection panel of the ICA page: PCA at once, UMAP in the background."""

from __future__ import annotations

import numpy as np
import streamlit as st

from nearid_core.science.projection import Projection
from nearid_core.views import plots_latent
from nearid_core.views.results import ModelView, SweepView

from . import background, cache, render, texts
from .glossary import see
from .widgets import radio

SOURCES = {"before": "AE latents", "after": "after ICA"}
METHODS = {"pca": "PCA", "umap": "UMAP (background)"}


def _colour(view: SweepView, m: ModelView, name: str, proj: Projection) -> np.ndarray:
    if name == "B(z)":
        return m.b[proj.idx]
    return view.u_test[proj.idx, int(name[1:]) - 1]


def _draw(view: SweepView, m: ModelView, proj: Projection, color_name: str) -> None:
    fig = plots_latent.projection_scatter(proj.coords, _colour(view, m, color_name, proj),
                                          color_name=color_name, method=proj.method)
    render.chart(fig, key=f"proj_{proj.method}", name=f"nearid-{proj.method}-{view.id}-{m.index}")


@st.fragment(run_every=2.0)
def _umap_waiting(view: SweepView, m: ModelView, source: str, color_name: str) -> None:
    state, _ = background.umap((cache.home(), view.id, m.index, source),
                               cache.latents(view, m.index, source))
    if state != "running":
        st.rerun()
    st.info("UMAP is being computed in the background (the first fit of a server compiles "
            "code first, about 20 s on the benchmark machine); PCA meanwhile. This page stays usable.")
    _draw(view, m, cache.pca_projection(view, m.index, source), color_name)


def projection_panel(view: SweepView, m: ModelView) -> None:
    """Method, source and colour widgets, then the projection (UMAP never blocks)."""
    c1, c2, c3 = st.columns(3)
    method = radio("Method", tuple(METHODS), "proj", container=c1, format_func=METHODS.get,
                   help=texts.UMAP)
    source = radio("Latents", tuple(SOURCES), "psrc", container=c2, format_func=SOURCES.get)
    names = tuple(f"u{k + 1}" for k in range(view.u_test.shape[1])) + ("B(z)",)
    color_name = radio("Colour", names, "pcolor", container=c3,
                       help="A ground-truth factor, or the decoder's B(z) at that point."
                       + see("factors", "b-z"))
    if method == "pca":
        _draw(view, m, cache.pca_projection(view, m.index, source), color_name)
        return
    state, result = background.umap((cache.home(), view.id, m.index, source),
                                    cache.latents(view, m.index, source))
    if state == "running":
        _umap_waiting(view, m, source, color_name)
    elif state == "failed":
        st.error(f"UMAP failed: {result}. PCA instead:")
        _draw(view, m, cache.pca_projection(view, m.index, source), color_name)
    else:
        _draw(view, m, result, color_name)
    st.caption(texts.UMAP + " A picture, not a measurement: UMAP distorts distances.")
