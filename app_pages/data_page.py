"""Data: choose the data-generating process, preview it, and measure its own B(u)."""

import numpy as np
import streamlit as st

from nearid_core.views import plots, plots_latent
from nearid_ui import cache, present, render, texts
from nearid_ui.glossary import see
from nearid_ui.params import bind, choice, publish
from nearid_ui.widgets import data_widgets

render.page("Data", "🎲", needs_store=False)
st.title("Data: factors u, observations x = g(u)")
st.caption("The Train page trains on the process chosen here. Isometric processes (rolled, "
           "linear) keep distances, so B(u) = 1; square is close to isometric; mlp is not.")

try:
    with present.folded("Data settings"):  # on a projector the picture comes first
        cfg = data_widgets()
except ValueError as err:
    st.error(f"These settings do not make a valid data set: {err}")
    st.stop()

with render.guard("the data preview"):
    prev = cache.data_preview(cfg)
    c1, c2, c3 = st.columns(3)
    c1.metric("median B(u) of the generator", f"{np.median(prev.b):.4f}",
              help="Here B is the generator's own: its Jacobian ∂x/∂u at sampled factors u. "
                   + texts.B_Z)
    c2.metric("max B(u)", f"{prev.b.max():.4f}", help="Largest B(u) over the sample; 1 means "
              "the process is locally isometric everywhere it was sampled."
              + see("b-z", "isometry", "data-process"))
    c3.metric("variance in top 3 PCs", f"{prev.explained.sum():.0%}",
              help="Share of the variance of x that the 3-D view below shows." + see("pca"))
    names = [f"u{k + 1}" for k in range(cfg.d_u)] + ["B(u)"]
    color_by = st.radio("Colour by", names, horizontal=True,
                        key=bind("color", names[0], choice(names), options=names),
                        help="A ground-truth factor, or the generator's own B(u)."
                             + see("factors", "b-z"))
    publish("color")
    color = prev.b if color_by == "B(u)" else prev.u[:, names.index(color_by)]
    left, right = st.columns([3, 2])
    with left:
        render.chart(plots.data_pca3d(prev.pca, color, color_name=color_by,
                                      explained=prev.explained),
                     key="data_pca", name="nearid-data-pca3d")
    with right:
        render.chart(plots.histogram(prev.b, x_title="B(u)", title="The generator's own B(u)"),
                     key="data_b", name="nearid-data-generator-b")
    if prev.images is not None:
        render.chart(plots_latent.image_grid(prev.images, title="Sample images (square data)"),
                     key="data_images", name="nearid-data-samples")
    st.caption(f"Preview of {len(prev.u):,} samples (of n = {cfg.n:,}). " + texts.ESTIMATED)
