"""nearid, Home: what near-identifiability is, the recipe, the warm-up button, stored sweeps.

Also the entry point: it registers the pages (``st.navigation``), sends unknown URLs to a
not-found page, drops overlong link parameters, and runs the chosen page.
"""

import streamlit as st

from nearid_ui import cache, home, live, render, routing, texts
from nearid_ui.picker import PAGE_KEY


def home_page() -> None:
    render.page("Home", "🧭")
    st.title("nearid — near-identifiability, hands on")
    st.markdown(
        "Train the same model twice and you get two different representations; **near-"
        "identifiability** asks how close they are up to a simple map (a signed permutation, a "
        "rotation, a linear map). The paper's Theorem 1 says that when the decoder is close to an "
        "isometry — bi-Lipschitz constant 1 + L with small L — two seeds agree up to a rigid map "
        "with error ∝ √(2L + L²). When the data come from independent non-Gaussian factors through "
        "a near-isometric generator, the same holds against the ground truth, and ICA removes the "
        "remaining rotation.")
    st.markdown("**The recipe:** ① train a plain autoencoder, ② run ICA on its latents — "
                "disentangled factors without any special loss.")
    home.start_here()
    rows = cache.sweeps()
    st.subheader("Reproduce the paper's warm-up")
    st.markdown("Small autoencoders on isometric data, six leaks α × four seeds; then B(z), "
                "ℓ2 identifiability errors before and after ICA. " + texts.LEAK)
    home.warmup_section(rows)
    st.subheader("Stored sweeps")
    home.sweeps_section(rows)
    live.preload_charting()  # while the user reads: the results after the button draw sooner


# The tab's icon is set before st.navigation: a page icon like ":material/home:" would
# otherwise become the favicon, which the browser fetches from fonts.gstatic.com (the app
# must need nothing beyond its own server). In the sidebar such icons use the bundled font.
st.set_page_config(page_title="nearid", page_icon="🧭", layout="wide")
PAGES = [
    st.Page(home_page, title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("app_pages/playground_page.py", title="Playground", icon=":material/tune:",
            url_path="Playground"),
    st.Page("app_pages/lesson_page.py", title="Lesson", icon=":material/school:",
            url_path="Lesson"),
    st.Page("app_pages/data_page.py", title="Data", icon=":material/scatter_plot:", url_path="Data"),
    st.Page("app_pages/train_page.py", title="Train", icon=":material/model_training:",
            url_path="Train"),
    st.Page("app_pages/bilipschitz_page.py", title="Bi-Lipschitz", icon=":material/straighten:",
            url_path="Bi-Lipschitz"),
    st.Page("app_pages/identifiability_page.py", title="Identifiability",
            icon=":material/compare_arrows:", url_path="Identifiability"),
    st.Page("app_pages/ica_page.py", title="ICA", icon=":material/grain:", url_path="ICA"),
    st.Page("app_pages/paper_page.py", title="Paper", icon=":material/description:",
            url_path="Paper"),
    st.Page("app_pages/compare_page.py", title="Compare", icon=":material/difference:",
            url_path="Compare"),
    st.Page("app_pages/disentangle_page.py", title="Disentanglement",
            icon=":material/category:", url_path="Disentanglement"),
    st.Page("app_pages/batch_page.py", title="Batch effects", icon=":material/biotech:",
            url_path="Batch-effects"),
    st.Page("app_pages/glossary_page.py", title="Glossary", icon=":material/menu_book:",
            url_path="Glossary"),
]
NOT_FOUND = st.Page(routing.not_found_page(PAGES), title="Page not found",
                    icon=":material/help:",
                    url_path=routing.NOT_FOUND, visibility="hidden")
routing.redirect_unknown(PAGES)
page = st.navigation([*PAGES, NOT_FOUND])
st.session_state[PAGE_KEY] = page.url_path
routing.drop_long_params()
routing.lesson_mode(page)
page.run()
