"""ICA: one model's latents before and after ICA, against the ground-truth factors."""

import streamlit as st

from nearid_core.views import plots_ident, plots_latent, results
from nearid_core.views.plots_ident import METRIC_NAMES
from nearid_ui import cache, numbers, present, render, texts
from nearid_ui.params import bind, choice, publish
from nearid_ui.projections import projection_panel
from nearid_ui.widgets import model_picker, pick_sweep, radio, toggle

render.page("ICA", "🧩")
st.title("Factors before and after ICA")
st.caption("The recipe: train a plain autoencoder, then run ICA on its latents. ICA (FastICA, "
           "unit-variance whitening, fixed seed) is fitted on half of the held-out points.")

v = pick_sweep()
if v is None:
    st.stop()
if v.u_test is None:  # the warning above says which file is missing or damaged
    st.info("Without its held-out data this sweep's latents cannot be compared with the "
            "ground truth; the other result pages still show it.")
    st.stop()
# Presentation mode: the model and the colour share one row, so the charts fit at 768 px.
top = st.columns(2) if present.active() else (st.container(), st.container())
with top[0]:
    m = model_picker(v)
if m is None:
    st.stop()

analysed = str(m.index) in (v.analysis or {}).get("per_model", {})
with render.guard("the ICA comparison"):
    if not analysed:
        st.info(f"Model {m.label} has no scores: ICA and the scores run in the sweep's "
                "analysis, after every model has trained. Shown: its latents" + (
                    " before ICA." if m.ica_latents is None else " and the ICA the analysis "
                    "saved before it stopped."))
    elif not m.metrics.get("ica_converged", True):
        st.warning(f"{m.metrics.get('ica_message')}. The 'after' numbers use its last "
                   "iterate.")
    if analysed and m.metrics.get("ica_restarts_disagree"):
        st.info(f"FastICA's restarts disagree for this model (largest Amari distance "
                f"{m.metrics.get('ica_restart_amari_max', float('nan')):.3f}): the kept "
                "solution is the one with the best contrast. " + texts.ICA_RESTARTS)
    scores = results.model_scores(v, m.index) if analysed else {}
    helps = {"mcc": texts.MCC, "infom": texts.COLUMNS["InfoM"], "infoe": texts.COLUMNS["InfoE"],
             "infoc": texts.COLUMNS["InfoC"], "dci_d": texts.DCI}
    for col, name in zip(st.columns(5), helps, strict=True) if scores else ():
        before, after = scores[name]
        col.metric(f"{METRIC_NAMES[name]} after ICA", f"{after:.{numbers.DIGITS}f}",
                   help=helps[name], **numbers.delta(before, after))

    d_u = v.u_test.shape[1]
    factors = [f"u{k + 1}" for k in range(d_u)]
    with top[1]:
        color_by = radio("Colour by factor", factors, "factor")
    color = v.u_test[:, factors.index(color_by)]
    d_z = m.latents.shape[1]
    axes = (0, 1) if d_z >= 2 else (0, 0)
    if d_z > 2:
        dims = list(range(d_z))
        c1, c2 = st.columns(2)
        a0 = c1.selectbox("Horizontal axis", dims, format_func=lambda i: f"axis {i + 1}",
                          key=bind("ax", 0, choice(dims), options=dims))
        a1 = c2.selectbox("Vertical axis", dims, format_func=lambda i: f"axis {i + 1}",
                          key=bind("ay", 1, choice(dims), options=dims))
        publish("ax")
        publish("ay")
        axes = (a0, a1)
    left, right = st.columns(2)
    with left:
        render.chart(plots_latent.latent_scatter(m.latents, color, color_name=color_by,
                                                 axes=axes, title="AE latents (before ICA)"),
                     key="sc_before", name=f"nearid-latents-before-{v.id}-{m.index}")
    with right:
        if m.ica_latents is not None:
            render.chart(plots_latent.latent_scatter(m.ica_latents, color,
                                                     color_name=color_by, axes=axes,
                                                     title="After ICA", axis_prefix="s"),
                         key="sc_after", name=f"nearid-latents-after-{v.id}-{m.index}")
    st.caption("Disentangled = each factor changes along one axis only: the colour should vary "
               "along one axis of the right-hand plot.")

    corr = cache.correlations(v, m.index)
    left, right = st.columns(2)
    for col, when, prefix in ((left, "before", "z"), (right, "after", "s")):
        if when in corr:
            c = corr[when]
            with col:
                render.chart(plots_latent.corr_heatmap(
                    c["corr"], c["pairs"], row_prefix=prefix,
                    title=f"|corr| {when} ICA (MCC {c['score']:.3f}, all points)"),
                    key=f"corr_{when}", name=f"nearid-corr-{when}-{v.id}-{m.index}")
    st.caption(texts.MCC)

    if scores:
        render.chart(plots_ident.metric_bars(scores), key="metric_bars",
                     name=f"nearid-metrics-{v.id}-{m.index}")
        digits = f"%.{numbers.DIGITS}f"
        render.table([{"metric": METRIC_NAMES[k], "before": b, "after": a,
                       "change": numbers.change(b, a)} for k, (b, a) in scores.items()],
                     key="metric_table", name=f"nearid-metrics-{v.id}-{m.index}",
                     formats={"before": digits, "after": digits, "change": "%+.3f"})
        st.caption(texts.INFOMEC + " " + texts.DCI + " Change: after − before, of the numbers "
                   "as shown (3 decimals).")

if v.config.data.kind == "square":
    st.subheader("Decoded traversals")
    with render.guard("the traversals"):
        tr = cache.traversals(v, m.index)
        render.chart(plots_latent.traversal_strips(tr.before, title="Moving one AE latent "
                                                   "(5% → 95% quantile)"),
                     key="trav_before", name=f"nearid-traversals-before-{v.id}-{m.index}")
        if tr.after is not None:
            render.chart(plots_latent.traversal_strips(tr.after, prefix="s",
                                                       title="Moving one ICA source"),
                         key="trav_after", name=f"nearid-traversals-after-{v.id}-{m.index}")
        st.caption("After ICA each row should move the square along one direction only.")

st.subheader("Projection of the latents")
with render.guard("the projection"):
    projection_panel(v, m)

if v.analysis and toggle("All leaks: MCC and InfoM before and after ICA (sweep means)",
                        "byleak", False):
    with render.guard("the per-leak metrics"):
        for metric in ("mcc", "infom"):
            render.chart(plots_ident.metric_by_leak(v.per_leak, metric), key=f"byleak_{metric}",
                         name=f"nearid-{metric}-by-leak-{v.id}")
st.divider()
render.sweep_downloads(v, key="ica")
