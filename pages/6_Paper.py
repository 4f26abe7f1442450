"""Paper: the reported tables beside this app's own reproduction of the warm-up."""

import streamlit as st

from nearid_core import results
from nearid_ui import paper, render, texts
from nearid_ui.widgets import pick_sweep

render.page("Paper", "📄")
st.title("The paper's numbers, and ours")
st.caption("*Statistical and structural identifiability in representation learning* "
           "(Nelson, Fumero, Karaletsos, Locatello; arXiv 2603.11970, ICLR 2026). Every "
           "table says whether its numbers are **reported in the paper** or **computed "
           "here**. The paper's tables use large pretrained models and image benchmarks; "
           "this app reproduces the small warm-up experiment, so compare shapes, not values.")

v = pick_sweep()

st.subheader("Table 1 — ℓ2 error between two models, by alignment group")
st.caption(texts.ERROR + " " + texts.EFFICIENCY)
left, right = st.columns(2)
with left:
    st.markdown(f"**{paper.REPORTED.capitalize()}** (pairs of pretrained models)")
    render.table(paper.table1(), key="t1_rep", name="paper-table1-reported")
with right:
    st.markdown(f"**{paper.COMPUTED.capitalize()}** (seed pairs of the warm-up autoencoders)")
    if v is None:
        st.info("Pick or train a sweep to see the computed numbers.")
    else:
        with render.guard("the computed Table 1"):
            render.table(paper.computed_table1(results.reproduction_rows(v)), key="t1_comp",
                         name=f"nearid-table1-{v.id}")

st.subheader("Table 2 — InfoM / InfoE / InfoC, autoencoder before and after ICA")
st.caption(texts.INFOMEC)
left, right = st.columns(2)
with left:
    st.markdown(f"**{paper.REPORTED.capitalize()}** (Shapes3D, MPI3D, Falcor3D, Isaac3D)")
    render.table(paper.table2(), key="t2_rep", name="paper-table2-reported")
with right:
    st.markdown(f"**{paper.COMPUTED.capitalize()}** (warm-up data, per leak)")
    if v is not None:
        with render.guard("the computed Table 2"):
            render.table(paper.computed_table2(results.reproduction_rows(v)), key="t2_comp",
                         name=f"nearid-table2-{v.id}")

st.subheader("Tables 3–4 — cell microscopy (OpenPhenom MAE)")
st.markdown(f"**{paper.REPORTED.capitalize()}** — not reproduced here (needs the pretrained "
            "model and the microscopy data). ICA's particular rotation, not whitening or any "
            "rotation, concentrates biology into few features.")
render.table(paper.table34(), key="t34_rep", name="paper-tables3-4-reported")

st.subheader("The warm-up's claims on this sweep")
if v is not None and v.analysis:
    st.markdown(f"**{paper.COMPUTED.capitalize()}** from sweep `{v.id}`; the claims are "
                "those of the paper's Figures 1, 2 and A.3–A.5.")
    with render.guard("the claims table"):
        render.table(paper.claims(v.analysis.get("trends", {})), key="claims",
                     name=f"nearid-claims-{v.id}")
st.caption(texts.ESTIMATED + " Theorem 3 needs perfect reconstruction and a near-isometric "
           "generator; signed permutations always remain; results are for infinite data.")
