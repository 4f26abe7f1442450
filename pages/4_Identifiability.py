"""Identifiability: ℓ2 error against L per alignment group, the Theorem-1 fit, ICA efficiency."""

import streamlit as st

from nearid_core import plots_ident, results
from nearid_core.plots import GROUP_NAMES
from nearid_ui import cache, render, texts
from nearid_ui.params import bind, publish
from nearid_ui.widgets import pick_sweep, radio, toggle

render.page("Identifiability", "🎯")
st.title("Smaller L, smaller identifiability error")
st.caption(texts.GROUPS + " " + texts.ERROR)

v = pick_sweep()
if v is None:
    st.stop()

c1, c2, c3 = st.columns([1.2, 1, 2])
kind = radio("View", results.VIEWS, "view", container=c1,
             help=texts.STATISTICAL + " " + texts.STRUCTURAL)
L_kind = radio("L from", results.L_KINDS, "L", container=c2,
               help=texts.L_MAX + " " + texts.L_MEAN)
groups_all = list(GROUP_NAMES)


def _parse_groups(text: str) -> list[str]:
    picked = [g for g in text.split(",") if g]
    if not picked or any(g not in GROUP_NAMES for g in picked):
        raise ValueError(f"expected groups among {', '.join(GROUP_NAMES)}")
    return picked


SHORT = {"perm": "perm", "rigid": "rigid", "linear": "linear", "ica": "ICA"}
groups = c3.multiselect("Groups", groups_all, key=bind("groups", groups_all, _parse_groups),
                        format_func=SHORT.get, help=texts.GROUPS)
publish("groups")
show_points = toggle("Show every seed pair / model", "points", True)

with render.guard("the identifiability curves"):
    curves = cache.error_curves(v, kind, L_kind)
    no_pairs = kind == "statistical" and not any(len(curves.points[g][0]) for g in groups_all)
    if no_pairs:
        st.info("The statistical view compares pairs of seeds, and this sweep has "
                f"{v.config.seeds} seed per leak (or too few finished models), so there is "
                "no pair to compare. Switch to the structural view, or train with 2 or more "
                "seeds per leak.")
    elif not groups:
        st.info("Pick at least one alignment group.")
    else:
        render.chart(plots_ident.error_vs_L(curves, groups=groups, show_points=show_points),
                     key="err_vs_L", name=f"nearid-error-vs-L-{v.id}")
        st.caption("Lines: mean over " + ("seed pairs" if kind == "statistical" else "models")
                   + " of each leak, bars ± one standard deviation; dashed: " + texts.FIT)
        fit_rows = [{"group": GROUP_NAMES[g], "c": curves.fits[g]["c"],
                     "r2": curves.fits[g]["r2"], "leaks": curves.fits[g]["n"]} for g in groups]
        render.table(fit_rows, key="fits", name=f"nearid-theorem1-fits-{v.id}-{kind}-{L_kind}")

    left, right = st.columns(2)
    with left:
        render.chart(plots_ident.recon_vs_L(v.per_leak, L_kind=L_kind), key="recon",
                     name=f"nearid-recon-vs-L-{v.id}")
        st.caption(texts.RECON + " More non-linearity (α → 1) reconstructs better, yet "
                   "poor reconstruction does not prevent identifiability.")
    with right:
        if not no_pairs:
            render.chart(plots_ident.ica_efficiency(v.per_leak, view=kind), key="eff",
                         name=f"nearid-ica-efficiency-{v.id}")
        st.caption(texts.EFFICIENCY)

    prefix = "stat" if kind == "statistical" else "struct"
    rows = [{"leak": r["leak"], "L_max": r["L_max"], "L_mean": r["L_mean"],
             **{g: r[f"{prefix}_{g}"] for g in groups_all},
             "ica_efficiency": r["ica_efficiency" if kind == "statistical"
                                 else "struct_ica_efficiency"]} for r in v.per_leak]
    render.table(rows, key="ident_table", name=f"nearid-identifiability-{v.id}-{kind}")
    if kind == "statistical":
        with st.expander("Every seed pair"):
            render.table(results.pairs_table(v), key="pairs", name=f"nearid-pairs-{v.id}")

st.divider()
render.sweep_downloads(v, key="id")
