"""The Disentanglement page's parts: the study's settings, the command line that runs the
same study, and a finished study's results (verdicts, Table 2 beside the paper's, figures,
traversal images). The numbers and figures come from ``nearid_core.views.study_disentangle``.
"""

from __future__ import annotations

import dataclasses
import re

import streamlit as st

from nearid_core.config import MAX_SEED
from nearid_core.studies.disentangle import DATASET_TEXTS, DATASETS, DisentangleConfig
from nearid_core.views import study_disentangle as views

from . import render, studies
from .glossary import see

DEFAULTS = DisentangleConfig()
CODES = {"before": "before ICA (latents)", "ica_k": "after ICA (k sources)",
         "ica_all": "after ICA (all kept latents)"}
_FORMATS = {c: "%.3f" for c in ("InfoM", "InfoE", "InfoC", "MCC", "DCI D")}


def settings() -> dict:
    """The study's settings from widgets (keys ``dis_*``; defaults: DisentangleConfig's).
    Not checked here: ``studies.run_button`` checks them and names a bad one."""
    d = DEFAULTS
    with st.expander("Settings: data sets, models, training", expanded=False):
        data = st.multiselect(
            "Data sets", DATASETS, list(d.datasets), key="dis_data",
            format_func=lambda n: f"{n}: {DATASET_TEXTS[n]}",
            help="shapes and rolled are (near-)isometric, mlp is the non-isometric control."
                 + see("isometry", "factors"))
        c1, c2, c3, c4 = st.columns(4)
        seeds = c1.number_input("Seeds", 1, 16, d.seeds, key="dis_seeds",
                                help="Models per data set." + see("seed"))
        epochs = c2.number_input("Epochs", 1, 10_000, d.epochs, key="dis_epochs")
        n = c3.number_input("Samples n", 256, 200_000, d.n, step=256, key="dis_n",
                            help="Per data set; 20% are held out and scored." + see("held-out"))
        seed = c4.number_input("Master seed", 0, MAX_SEED, d.seed, key="dis_seed",
                               help="Data seed; model k has seed 1000 x master + k.")
        c1, c2, c3, c4 = st.columns(4)
        wd = c1.number_input("Weight decay", 0.0, 1.0, d.weight_decay, step=1e-4,
                             format="%.1e", key="dis_wd",
                             help="Of the decoder: Table 2's only regulariser.")
        lpf = c2.number_input("Latents per factor", 1, 4, d.latents_per_factor, key="dis_lpf",
                              help="Table 2's setup: 2 (twice as many latents as factors).")
        leak = c3.number_input("Leak α", 0.0, 1.0, d.leak, step=0.1, key="dis_leak",
                               help="0 linear, 1 ReLU (a plain autoencoder)." + see("leak"))
        levels = c4.number_input("Shapes levels", 0, 20, d.levels, key="dis_levels",
                                 help="Values per shapes factor: 0 continuous, or 2-20.")
        c1, c2, _, _ = st.columns(4)
        rolled = c1.number_input("Rolled factors", 2, 6, d.rolled_factors, key="dis_rolled")
        mlp = c2.number_input("MLP factors", 2, 6, d.mlp_factors, key="dis_mlp")
    return {"datasets": list(data), "seeds": int(seeds), "epochs": int(epochs), "n": int(n),
            "seed": int(seed), "weight_decay": float(wd), "latents_per_factor": int(lpf),
            "leak": float(leak), "levels": int(levels), "rolled_factors": int(rolled),
            "mlp_factors": int(mlp)}


def run_name(cfg: dict) -> str:
    """A short name for a study with these settings."""
    return (f"{', '.join(cfg.get('datasets') or ['no data'])} · {cfg.get('seeds')} seeds · "
            f"{cfg.get('epochs')} epochs")


_FLAGS = {"datasets": "--data", "seeds": "--seeds", "epochs": "--epochs", "n": "--n",
          "seed": "--seed", "weight_decay": "--weight-decay",
          "latents_per_factor": "--latents-per-factor", "leak": "--leak",
          "levels": "--levels", "rolled_factors": "--rolled-factors",
          "mlp_factors": "--mlp-factors"}


def command_line(cfg: dict) -> str:
    """``python -m nearid_core disentangle ...`` with the settings that differ from the
    defaults."""
    defaults = dataclasses.asdict(DEFAULTS)
    parts = ["python -m nearid_core disentangle"]
    for key, flag in _FLAGS.items():
        value = cfg.get(key)
        if key == "datasets":
            if tuple(value or ()) != tuple(defaults[key]):
                parts.append(f"{flag} {','.join(value or [])}")
        elif value is not None and value != defaults[key]:
            parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(parts)


def results(row: dict) -> None:
    """A finished study: verdicts, Table 2 beside the paper's rows, the figures, notes and
    the traversal images before and after ICA."""
    doc = row.get("analysis")
    if not doc:
        st.info("This study has no results stored.")
        return
    st.info("**Synthetic analogues, not Shapes3D/MPI3D.** " + views.SYNTHETIC_NOTE)
    st.subheader("Verdicts")
    show = {True: (st.success, ":material/check_circle:"), False: (st.error, ":material/cancel:"),
            None: (st.info, ":material/help:")}
    for passed, text in views.verdict_lines(doc):
        box, icon = show[passed]
        box(text, icon=icon)
    st.subheader("Table 2: ours beside the paper's")
    st.caption("Rows with source *ours* are means over this study's models (sd: over seeds); "
               "rows with source *paper* are the paper's Table 2 as printed (it reports no "
               "MCC or DCI)." + see("infomec", "mcc", "dci"))
    render.table(views.table_rows(doc), key=f"dis_table_{row['id']}", name="disentangle_table2",
                 formats=_FORMATS)
    render.chart(views.table2_figure(doc), key=f"dis_means_{row['id']}",
                 name="disentangle_means")
    render.chart(views.seed_gain_figure(doc), key=f"dis_gain_{row['id']}",
                 name="disentangle_seed_gain")
    with st.expander("Codes and data sets"):
        st.markdown("\n".join(f"- **{k}**: {v}" for k, v in doc.get("methods", {}).items()))
        st.markdown("\n".join(f"- {line}" for line in views.dataset_notes(doc)))
    with render.guard("the traversal images"):
        traversals(row)


def traversals(row: dict) -> None:
    """Side by side: one model's traversals under two codes (default before vs after ICA)."""
    st.subheader("Latent traversals")
    arrays = studies.arrays(row)
    keys = [m.groups() for m in map(re.compile(r"(.+)_(\d+)_(before|ica_k|ica_all)$").match,
                                    arrays) if m]
    if not keys:
        st.info("No traversal images: they are drawn for the shapes data set only.")
        return
    st.caption("Each row moves one axis from its 5% to its 95% quantile over the held-out "
               "codes, the others held at their medians, and decodes. A disentangled axis "
               "changes one factor (x, y, size or brightness) along its row.")
    data = sorted({d for d, _, _ in keys})
    c1, c2, c3, c4 = st.columns(4)
    dataset = c1.selectbox("Data set", data, key=f"dis_tr_data_{row['id']}")
    seeds = sorted({int(k) for d, k, _ in keys if d == dataset})
    seed = c2.selectbox("Model", seeds, key=f"dis_tr_seed_{row['id']}",
                        format_func=lambda k: f"seed {k}")
    left = c3.selectbox("Left", list(CODES), 0, key=f"dis_tr_left_{row['id']}",
                        format_func=CODES.get)
    right = c4.selectbox("Right", list(CODES), 1, key=f"dis_tr_right_{row['id']}",
                         format_func=CODES.get)
    for i, (col, code) in enumerate(zip(st.columns(2), (left, right), strict=True)):
        with col:
            render.chart(views.traversal_figure(arrays, dataset, seed, code),
                         key=f"dis_tr_{i}_{row['id']}",
                         name=f"traversal_{dataset}_{seed}_{code}")
