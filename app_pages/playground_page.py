"""Playground: move the leak and see, at once, B(z) of two small autoencoders, the overlay of
their latents before and after each map, their four alignment errors, and where they sit on
the error-vs-L curve of a reference grid (trained once, in the background, on first visit)."""

import streamlit as st

from nearid_ui import playground, render

render.page("Playground", "🎛️")
st.title("Playground: what does the leak do?")
st.caption("Two autoencoders trained from different seeds on the same data. Move the leak: "
           "a curved decoder (large B(z)) lets the seeds disagree by more than a rotation.")
kind = playground.kind_picker()
grid_id = playground.grid_ready(kind)
if grid_id is None:
    st.stop()
playground.live_view(kind, grid_id)
playground.exact_training(kind, grid_id)
