"""Disentanglement: the paper's Table 2 (a plain autoencoder, then ICA) on synthetic data
sets with known factors, as a stored study beside the paper's printed numbers."""

import streamlit as st

from nearid_core.views import study_disentangle
from nearid_ui import disentangle, render, studies

render.page("Disentanglement", "🧩")
st.title("Disentanglement: a plain autoencoder, then ICA")
st.caption("The paper's Table 2: a plain autoencoder (twice as many latents as factors, "
           "weight decay its only regulariser) followed by ICA on its latents scores as "
           "disentangled by InfoM / InfoE / InfoC as purpose-built models (β-VAE, β-TCVAE, "
           "BioAE). Here on synthetic data with known factors — a soft-square image, rolled "
           "factors and a non-isometric MLP control — scored also by MCC and DCI, beside the "
           "paper's printed numbers.")

cfg = disentangle.settings()
studies.body("disentangle", cfg, name=disentangle.run_name(cfg),
             command=disentangle.command_line(cfg), results=disentangle.results,
             report=study_disentangle.report_html)
