"""nearid, Home: what near-identifiability is, the recipe, the warm-up button, stored sweeps.

Also the entry point: it registers the pages (``st.navigation``) and runs the chosen one.
"""

import streamlit as st

from nearid_ui import cache, jobs, render, texts
from nearid_ui.live import STOPPED, follow, stopped
from nearid_ui.widgets import radio, sweep_label

PRESET_LABELS = {"paper": "paper settings (24 models, about a minute on 2 cores)",
                 "tiny": "tiny preset (6 models, seconds; rough numbers)"}


def home() -> None:
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

    st.subheader("Reproduce the paper's warm-up")
    st.markdown("Small autoencoders on isometric data, six leaks α × four seeds; then B(z), "
                "ℓ2 identifiability errors before and after ICA. " + texts.LEAK)
    preset = radio("Preset", ("paper", "tiny"), "preset", help=texts.PRESET,
                   format_func=PRESET_LABELS.get)
    readonly = cache.readonly()
    if st.button("Reproduce the paper's warm-up", type="primary", icon=":material/play_arrow:",
                 disabled=readonly, help=render.READONLY if readonly else None):
        sweep_id = jobs.warmup(cache.store(), preset)
        st.switch_page("pages/4_Identifiability.py", query_params={"sweep": sweep_id})

    st.subheader("Stored sweeps")
    rows = cache.sweeps()
    if not rows:
        st.info("No sweeps yet: press the button above, or design one on the **Train** page.")
    else:
        table = [{"sweep": r["id"], "name": r["name"], "status": r["status"],
                  "progress": r["progress"], "models": r["n_runs"],
                  "done": r["run_counts"]["done"], "failed": r["run_counts"]["failed"],
                  "data": r["config"]["data"]["kind"],
                  "leaks": ", ".join(f"{a:g}" for a in r["config"]["leaks"]),
                  "seeds": r["config"]["seeds"], "created": sweep_label(r).rsplit(" · ", 1)[-1]}
                 for r in rows]
        event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                             key="sweeps_table", column_config={
                                 "progress": st.column_config.ProgressColumn(
                                     "progress", min_value=0.0, max_value=1.0, format="percent"),
                                 "failed": st.column_config.NumberColumn(
                                     help=texts.COLUMNS["failed"]),
                                 "status": st.column_config.Column(help=texts.COLUMNS["status"])})
        picked = event.selection.rows if event is not None else []
        chosen = rows[picked[0]] if picked else None
        if chosen is None:
            st.caption("Select a row to open that sweep on a page.")
        else:
            sid = chosen["id"]
            cols = st.columns(5)
            for col, (path, label) in zip(cols, [
                    ("pages/2_Train.py", "Train (progress)"), ("pages/3_Bi-Lipschitz.py",
                                                               "Bi-Lipschitz"),
                    ("pages/4_Identifiability.py", "Identifiability"), ("pages/5_ICA.py", "ICA"),
                    ("pages/6_Paper.py", "Paper")], strict=True):
                col.page_link(path, label=label, query_params={"sweep": sid})
            if chosen["status"] in ("queued", "running"):
                follow(sid)
            elif chosen["status"] in STOPPED:
                stopped(chosen)
        st.caption("Sweeps live in the run store: the folder named by `NEARID_HOME` (default "
                   "`.nearid` in the app's working directory).")


PAGES = [
    st.Page(home, title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/1_Data.py", title="Data", icon=":material/scatter_plot:", url_path="Data"),
    st.Page("pages/2_Train.py", title="Train", icon=":material/model_training:",
            url_path="Train"),
    st.Page("pages/3_Bi-Lipschitz.py", title="Bi-Lipschitz", icon=":material/straighten:",
            url_path="Bi-Lipschitz"),
    st.Page("pages/4_Identifiability.py", title="Identifiability",
            icon=":material/compare_arrows:", url_path="Identifiability"),
    st.Page("pages/5_ICA.py", title="ICA", icon=":material/grain:", url_path="ICA"),
    st.Page("pages/6_Paper.py", title="Paper", icon=":material/description:",
            url_path="Paper"),
]
st.navigation(PAGES).run()
