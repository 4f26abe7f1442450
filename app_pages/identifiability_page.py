"""Identifiability: ℓ2 error against L per alignment group, the Theorem-1 fit, ICA efficiency,
and the warm-up's claims checked on the sweep shown."""

import streamlit as st

from nearid_core.science import efficiency
from nearid_core.views import ident_views, plots_ident, results
from nearid_core.views.plots import GROUP_NAMES
from nearid_ui import cache, ident_texts, multi_sweep, overlays, present, render, texts
from nearid_ui.params import bind, publish
from nearid_ui.widgets import pick_sweep, radio, toggle

render.page("Identifiability", "🎯")
st.title("Identifiability error against L")
st.caption(texts.GROUPS + " " + texts.ERROR)

v = pick_sweep()
if v is None:
    st.stop()

c1, c2, c3, c4 = st.columns([1.2, 0.9, 0.9, 2])
kind = radio("View", results.VIEWS, "view", container=c1,
             help=texts.STATISTICAL + " " + texts.STRUCTURAL)
base = radio("L per model", results.L_KINDS, "L", container=c2,
             help=ident_texts.L_MAX_MODEL + " " + ident_texts.L_MEAN_MODEL)
over = radio("over seeds", results.L_OVER, "Lover", container=c3, help=ident_texts.L_SEEDS)
L_kind = f"{base}_{over}"
groups_all = list(GROUP_NAMES)


def _parse_groups(text: str) -> list[str]:
    picked = [g for g in text.split(",") if g]
    if not picked or any(g not in GROUP_NAMES for g in picked):
        raise ValueError(f"expected groups among {', '.join(GROUP_NAMES)}")
    return picked


SHORT = {"perm": "perm", "rigid": "rigid", "linear": "linear", "ica": "ICA"}
groups = c4.multiselect("Groups", groups_all, key=bind("groups", groups_all, _parse_groups),
                        format_func=SHORT.get, help=texts.GROUPS)
publish("groups")
t1, t2 = st.columns(2)
with t1:
    show_points = toggle("Show every seed pair / model", "points", True)
with t2:
    fit_all = toggle("Fit the other groups too (not covered by Theorem 1)", "fitall", False,
                     help=ident_texts.COLUMNS["theorem"])

with render.guard("the identifiability curves"):
    curves = cache.error_curves(v, kind, L_kind)
    claims = {c["claim"]: c for c in ident_views.claims(v, L_kind=L_kind, kind=kind)}
    claim_text = ("**On this sweep** (computed from the numbers shown):\n"
                  + "\n".join(f"- {c['claim']}: **{c['verdict']}**" for c in claims.values()))
    if not present.active():  # a projector shows the chart first, the claims under it
        st.markdown(claim_text)
    no_pairs = kind == "statistical" and not any(len(curves.points[g][0]) for g in groups_all)
    if no_pairs:
        st.info("The statistical view compares pairs of seeds, and this sweep has "
                f"{v.config.seeds} seed per leak (or too few finished models), so there is "
                "no pair to compare. Switch to the structural view, or train with 2 or more "
                "seeds per leak.")
    elif not groups:
        st.info("Pick at least one alignment group.")
    else:
        fit_groups = groups if fit_all else [g for g in groups if g == "rigid"]
        render.chart(plots_ident.error_vs_L(curves, groups=groups, show_points=show_points,
                                            fit_groups=fit_groups),
                     key="err_vs_L", name=f"nearid-error-vs-L-{v.id}")
        st.caption("Lines: mean over " + ("seed pairs" if kind == "statistical" else "models")
                   + " of each leak, bars ± one standard deviation; dots: each "
                   + ("seed pair at the larger L of its two models" if kind == "statistical"
                      else "model at its own L")
                   + ". Dashed: the fit over leaks, dotted: over units. " + ident_texts.FIT)
        render.table(ident_views.fit_rows(curves, fit_groups or ["rigid"]), key="fits",
                     name=f"nearid-theorem1-fits-{v.id}-{kind}-{L_kind}")

    if present.active():
        st.markdown(claim_text)
    left, right = st.columns(2)
    with left:
        render.chart(plots_ident.recon_vs_L(v.per_leak, L_kind=L_kind), key="recon",
                     name=f"nearid-recon-vs-L-{v.id}")
        recon = next(c for c in claims.values() if c["claim"].startswith("reconstruction"))
        st.caption(texts.RECON + f" Reconstruction improving as α → 1: {recon['verdict']}.")
    with right:
        if not no_pairs:
            render.chart(plots_ident.ica_efficiency(v.per_leak, view=kind), key="eff",
                         name=f"nearid-ica-efficiency-{v.id}")
        st.caption(texts.EFFICIENCY + " " + efficiency.LEGEND)

    render.table(ident_views.ident_table(v, kind), key="ident_table",
                 name=f"nearid-identifiability-{v.id}-{kind}")
    drivers, dips = ident_views.l_drivers(v)
    with st.expander("What sets L at each leak" + (" — and why it falls" if dips else "")):
        for text in dips:
            st.markdown(text)
        render.table(drivers, key="drivers", name=f"nearid-l-drivers-{v.id}")
    if kind == "statistical":
        with st.expander("Every seed pair"):
            render.table(results.pairs_table(v), key="pairs", name=f"nearid-pairs-{v.id}")

with render.guard("the sweeps side by side"):
    multi_sweep.error_section(v, kind, L_kind)

with render.guard("the overlay picture"):
    overlays.section(v)

st.divider()
render.sweep_downloads(v, key="id")
