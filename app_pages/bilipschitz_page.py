"""Bi-Lipschitz: the distribution of B(z) per leak, the orthogonal bound, the B(z) map."""

import streamlit as st

from nearid_core.views import plots, results
from nearid_ui import cache, multi_sweep, render, texts
from nearid_ui.glossary import see
from nearid_ui.widgets import model_picker, pick_sweep, radio, toggle

render.page("Bi-Lipschitz", "📐")
st.title("How close to an isometry is each decoder?")
st.caption(texts.B_Z)

v = pick_sweep()
if v is None:
    st.stop()

with render.guard("the B(z) distributions"):
    c1, c2 = st.columns([2, 1])
    kind = radio("Chart", ("violin", "histogram"), "bkind", container=c1)
    with c2:
        log_x = toggle("Log-scale B(z)", "logx", False,
                       help="Spreads out the values near 1 (small leaks)." + see("b-z", "leak"))
    bounds = results.leak_bounds(v)
    render.chart(plots.b_distribution(results.b_by_leak(v), bounds=bounds, kind=kind,
                                      log_x=log_x), key="b_dist", name=f"nearid-b-{v.id}")
    if bounds:
        st.caption("Black ticks: the bound (1−α)^−K of the orthogonal decoder (K = 2). "
                   + texts.BOUND)
    else:
        st.caption("Free decoder: no bound; B(z) is only measured. " + texts.DECODER)
    if v.analysis:
        st.markdown("**Per leak** — " + texts.L_MAX + " " + texts.L_MEAN)
        render.table(results.leak_table(v), key="leak_table", name=f"nearid-leaks-{v.id}")
    else:  # a sweep stopped before its analysis: what each finished model measured
        st.markdown("**Per model** (the per-leak table needs the sweep's analysis)")
        shown = ("model", "leak", "seed", "recon_mse", "L_max", "L_mean")
        render.table([{k: r[k] for k in shown} for r in results.model_table(v)
                      if r["status"] == "done"], key="model_table",
                     name=f"nearid-models-{v.id}")

with render.guard("the sweeps side by side"):
    multi_sweep.b_section(v)

st.subheader("B(z) over the latent plane")
d_z = v.config.model.latent_dim(v.config.data)
if d_z != 2:
    st.info(f"The map is drawn for 2-D latents; this sweep has d_z = {d_z}.")
else:
    with render.guard("the B(z) map"):
        m = model_picker(v)
        if m is not None:
            bm = cache.b_map(v, m.index)
            render.chart(plots.b_map(bm.xs, bm.ys, bm.b, bm.points,
                                     title=f"B(z) of model {m.label}"),
                         key="b_map", name=f"nearid-bmap-{v.id}-{m.index}")
            st.caption("Only the region under the points matters: off the data the decoder "
                       "was never trained. " + texts.ESTIMATED)

st.divider()
render.sweep_downloads(v, key="bl")
