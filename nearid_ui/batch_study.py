"""The Batch effects page's parts: the study's settings (widgets -> settings dict for
``runs.study_jobs``) and a finished study's results (``views.study_batch`` on screen).

The generic parts (run button, picker, progress, rename/delete/downloads) live in
``nearid_ui.studies``; this module only knows the batch study.
"""

from __future__ import annotations

import re

import streamlit as st

from nearid_core.config import MAX_SEED
from nearid_core.runs.study_jobs import BATCH_DEFAULTS
from nearid_core.science.batch_data import ScreenConfig
from nearid_core.views import study_batch as views

from . import render

EMBEDDINGS = ("observations", "autoencoder")
HELD_OUT = 2  # BatchConfig's default: the last 2 batches (the last 1 of 2)
MAX_STRENGTHS = 12  # study_jobs.batch_config's limits on the strength sweep
STRENGTH_RANGE = (0.0, 10.0)


def parse_strengths(text: str) -> tuple[list[float], str]:
    """The strengths typed as ``"0, 1, 2"`` (commas or spaces), and an error ("" if none).

    A token that is not a number comes back as text, so that the study's own check refuses
    it by name; the error says what is wrong either way.
    """
    tokens = [t for t in re.split(r"[,\s;]+", text.strip()) if t]
    values, bad = [], []
    for t in tokens:
        try:
            values.append(float(t))
        except ValueError:
            bad.append(t)
    lo, hi = STRENGTH_RANGE
    if bad:
        return tokens, (f"Strengths: {bad[0]!r} is not a number. Give numbers in [{lo:g}, "
                        f"{hi:g}] separated by commas, e.g. 0, 1, 2, 4, 8.")
    if len(values) > MAX_STRENGTHS:
        return values, f"Strengths: at most {MAX_STRENGTHS} values, got {len(values)}."
    out = [v for v in values if not lo <= v <= hi]
    if out:
        return values, f"Strengths: {out[0]:g} is outside [{lo:g}, {hi:g}]."
    return sorted(set(values)), ""


def _screen_widgets() -> dict:
    """The screen's knobs (ScreenConfig's defaults)."""
    d = ScreenConfig()
    c1, c2, c3, c4 = st.columns(4)
    g = c1.number_input("Perturbations G", 1, 100, d.perturbations, key="bat_perturbations",
                        help="Perturbed conditions beside the control; each moves 1-2 of "
                             "the biological factors.")
    b = c2.number_input("Batches", 2, 100, d.batches, key="bat_batches",
                        help="Experimental batches, each with its own technical shift.")
    wells = c3.number_input("Wells", 2, 100_000, d.wells, key="bat_wells",
                            help="Wells per batch and condition.")
    strength = c4.number_input("Batch-effect strength", *STRENGTH_RANGE, d.strength,
                               step=0.5, key="bat_strength",
                               help="Size of the batch effects on the nuisance factors "
                                    "(0: none).")
    return {"perturbations": int(g), "batches": int(b), "wells": int(wells),
            "strength": float(strength)}


def settings() -> dict:
    """The study's settings from the widgets, in the form ``study_jobs.study_settings``
    takes; errors the user made are shown under the widgets (the run button refuses them)."""
    st.caption(views.SYNTHETIC)
    screen = _screen_widgets()
    c1, c2, c3 = st.columns(3)
    held = c1.number_input("Held-out batches", 1, 99, HELD_OUT, key="bat_held_out",
                           help="The last K batches are held out of every fit; the AUROC is "
                                "scored on them.")
    embedding = c2.selectbox("Embedding", EMBEDDINGS, key="bat_embedding",
                             help="The observations themselves, or the latents of an "
                                  "autoencoder trained on the training batches (the MAE "
                                  "analogue; slower).")
    screen["seed"] = int(c3.number_input("Seed", 0, MAX_SEED, ScreenConfig().seed,
                                         key="bat_seed", help="Seed of the first screen."))
    c1, c2, c3 = st.columns(3)
    seeds = c1.number_input("Screens for the paired difference", 2, 100,
                            BATCH_DEFAULTS["seeds"], key="bat_seeds",
                            help="Seeds seed .. seed + K − 1; PCA + ICA − PCA + Rand and its "
                                 "95% interval are taken over them.")
    text = c2.text_input("Strengths for the strength sweep",
                         ", ".join(f"{s:g}" for s in BATCH_DEFAULTS["strengths"]),
                         key="bat_strengths", help="Batch-effect strengths in [0, 10], "
                         "separated by commas (empty: no sweep).")
    strength_seeds = c3.number_input("Screens per strength", 2, 20,
                                     BATCH_DEFAULTS["strength_seeds"], key="bat_strength_seeds")
    strengths, error = parse_strengths(text)
    if error:
        st.error(error)
    batches, held = screen["batches"], int(held)
    if held >= batches:
        st.error(f"Held-out batches must be fewer than the {batches} batches, so that one "
                 f"is left to train on (got {held}).")
    return {"screen": screen, "held_out": list(range(batches - held, batches)),
            "embedding": embedding, "seeds": int(seeds), "strengths": strengths,
            "strength_seeds": int(strength_seeds)}


def name(cfg: dict) -> str:
    """A short default name of the study."""
    s = cfg["screen"]
    return (f"G={s['perturbations']}, {s['batches']} batches, strength {s['strength']:g}, "
            f"{cfg['embedding']}")


def command_line(cfg: dict) -> str:
    """The command line that runs the same study (and stores it)."""
    s = cfg["screen"]
    strengths = ",".join(f"{x:g}" if isinstance(x, (int, float)) else str(x)
                         for x in cfg["strengths"]) or "none"
    return (f"python -m nearid_core batch --perturbations {s['perturbations']} --batches "
            f"{s['batches']} --held-out {len(cfg['held_out'])} --wells {s['wells']} "
            f"--strength {s['strength']:g} --embedding {cfg['embedding']} --seed {s['seed']} "
            f"--seeds {cfg['seeds']} --strengths {strengths} "
            f"--strength-seeds {cfg['strength_seeds']}")


def _paired(doc: dict) -> None:
    n = len(doc["paired_difference"].get("seeds") or ())
    st.subheader(f"PCA + ICA − PCA + Rand over {n} screens")
    for verdict, line in views.paired_items(doc):
        (st.success if verdict == "above" else st.warning)(line)
    for note in views.notes(doc):
        st.caption(note)
    render.chart(views.paired_figure(doc), key="bat_fig_paired", name="batch-paired")


def _tables(doc: dict) -> None:
    st.subheader("The first screen beside the paper's numbers")
    source = (doc.get("paper") or {}).get("source", "the paper, Tables 3–4")
    st.caption(f"Rows labelled *paper* are its printed numbers on real cell images — {source}. "
               "Different data: compare the order of the conditions, not the values.")
    heads = {"auroc": "Held-out AUROC (paper row: its example gene EIF3H)",
             "top25": "Top-25% share of the effect (paper row: its Tables 3–4)",
             "hoyer": "Hoyer sparsity of the effect (the paper prints none)"}
    fmt = {c: "%.3f" for c in ("Base", "PCA", "PCA + ICA", "PCA + Rand")}
    for m, rows in views.tables(doc).items():
        st.markdown(f"**{heads[m]}**")
        render.table(rows, key=f"bat_tbl_{m}", name=f"batch-{m}", formats=fmt)
    c1, c2 = st.columns(2)
    with c1:
        render.chart(views.auroc_figure(doc), key="bat_fig_auroc", name="batch-auroc")
    with c2:
        render.chart(views.sparsity_auroc_figure(doc), key="bat_fig_sparsity",
                     name="batch-sparsity-auroc")


def results(row: dict) -> None:
    """A finished batch study: paired difference, tables, figures, strength sweep."""
    doc = row.get("analysis") or {}
    if "first_screen" not in doc:
        st.info("This study has no results to show.")
        return
    with render.guard("the batch study"):
        st.info(views.SYNTHETIC)
        _paired(doc)
        _tables(doc)
        st.subheader("Batch-effect strength")
        if doc.get("strength_sweep"):
            render.chart(views.strength_figure(doc), key="bat_fig_strength",
                         name="batch-strength")
        st.markdown(views.strength_statement(doc))
        with st.expander("Definitions"):
            st.markdown(doc.get("definitions", ""))
