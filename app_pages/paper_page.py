"""Paper: the reported tables beside this sweep's own numbers, and the warm-up's claims
checked on it."""

import streamlit as st

from nearid_core.science import efficiency
from nearid_core.views import ident_views, results
from nearid_ui import ident_texts, paper, render, texts  # noqa: F401 - ident_texts: column help
from nearid_ui.widgets import pick_sweep

render.page("Paper", "📄")
st.title("The paper's numbers, and ours")
st.caption("*Statistical and structural identifiability in representation learning* "
           "(Nelson, Fumero, Karaletsos, Locatello; arXiv 2603.11970, ICLR 2026). Every "
           "table says whether its numbers are **reported in the paper** or **computed "
           "here**. The paper's tables use large pretrained models and image benchmarks; "
           "this app trains small autoencoders, so compare shapes, not values.")

st.subheader("Where each of the paper's tables and figures is reproduced here")
for item, shows, page_file, label, command in paper.WHERE:
    c1, c2 = st.columns([3, 1])
    c1.markdown(f"**{item}** — {shows}. Command line: `{command}`.")
    c2.page_link(page_file, label=label, icon=":material/arrow_forward:")

v = pick_sweep()
label = paper.sweep_label(v.config) if v is not None else ""
if v is not None:
    st.markdown(f"Computed numbers below come from sweep `{v.id}`: **{label}**.")


def beside(n: int, reported_note: str, computed_note: str, reported_rows, computed) -> None:
    """Table n as reported in the paper (left) and as computed from this sweep (right)."""
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{paper.REPORTED.capitalize()}** ({reported_note})")
        render.table(reported_rows, key=f"t{n}_rep", name=f"paper-table{n}-reported")
    with right:
        st.markdown(f"**{paper.COMPUTED.capitalize()}** ({computed_note})")
        if v is None:
            st.info("Pick or train a sweep to see the computed numbers.")
            return
        if not v.analysis:
            st.info("This sweep has no analysis (it stopped before it), and the computed "
                    "tables are built from the analysis.")
            return
        with render.guard(f"the computed Table {n}"):
            render.table(computed(results.reproduction_rows(v)), key=f"t{n}_comp",
                         name=f"nearid-table{n}-{v.id}")


st.subheader("Table 1 — ℓ2 error between two models, by alignment group")
st.caption(texts.ERROR + " " + texts.EFFICIENCY + " " + efficiency.LEGEND)
beside(1, "pairs of pretrained models", f"seed pairs of {label or 'a sweep'}",
       paper.table1(), paper.computed_table1)

st.subheader("Table 2 — InfoM / InfoE / InfoC, autoencoder before and after ICA")
st.caption(texts.INFOMEC)
beside(2, "Shapes3D, MPI3D, Falcor3D, Isaac3D",
       f"{label or 'a sweep'}, per leak, by the InfoMEC authors' protocol as the paper",
       paper.table2(), lambda rows: paper.computed_table2(rows, f"sweep {v.id}"))
with st.expander("InfoMEC: the two protocols, and why ICA cannot change InfoE"):
    st.markdown(texts.INFOE_PROTOCOL)
    st.markdown(texts.INFOE_ICA)

st.page_link("app_pages/disentangle_page.py", label="Table 2's own study (AE vs AE + ICA on "
             "data with known factors, every seed, with latent traversals): Disentanglement",
             icon=":material/arrow_forward:")

st.subheader("Tables 3–4 — cell microscopy (OpenPhenom MAE)")
st.markdown(f"**{paper.REPORTED.capitalize()}** — the pretrained model and the microscopy "
            "data cannot be used here. ICA's particular rotation, not whitening or any "
            "rotation, concentrates biology into few features.")
render.table(paper.table34(), key="t34_rep", name="paper-tables3-4-reported")
st.page_link("app_pages/batch_page.py", label="Their analogue on a synthetic screen with "
             "known biology and batch effects: Batch effects", icon=":material/arrow_forward:")

st.subheader("The warm-up's claims on this sweep")
if v is not None and v.analysis:
    st.markdown(f"**{paper.COMPUTED.capitalize()}** from sweep `{v.id}` ({label}); the claims "
                "are those of the paper's Figures 1, 2 and A.3–A.5, each checked on this "
                "sweep's numbers.")
    with render.guard("the claims table"):
        render.table(paper.claims(ident_views.claims(v, extra=True)), key="claims",
                     name=f"nearid-claims-{v.id}")
        for text in ident_views.l_drivers(v)[1]:
            st.markdown(f"**Why L falls here.** {text}")
st.caption(texts.ESTIMATED + " Theorem 3 needs perfect reconstruction and a near-isometric "
           "generator; signed permutations always remain; results are for infinite data.")
