"""Compare: Table-1 errors between the user's own representations (uploads, models of a stored
sweep, saved comparisons) and the paper's Table 1 reproduced on digits."""

import streamlit as st

from nearid_ui import compare, render, texts

render.page("Compare", "🔀")
st.title("Compare representations")
st.caption("Two or more embeddings of the same inputs, rows in the same order: how close are "
           "they up to a signed permutation, a rotation, a linear map, or ICA? " + texts.GROUPS)

config = compare.settings()
compare.sources(config)
st.divider()
compare.results()
