"""The "Table 1 on digits" tab: the study in the background, our table beside the paper's."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import streamlit as st

from nearid_core.config import config_id
from nearid_core.studies.realdata import FAMILY_LABELS, PAPER_TABLE1, REGIME_RULE, RealDataConfig

from . import compare_jobs, render, texts
from .compare import Inputs, job_state
from .compare_results import efficiency_text
from .compare_worker import run_digits
from .glossary import see

DIGITS = "cmp_digits"  # session key: the digits job this session started
REPORTED = "Reported in the paper (pretrained models)"
COMPUTED = "Computed here (digits)"
NO_DECODER = "n/a — no decoder (a classifier)"


def _pm(mean: float, std: float) -> str:
    if not math.isfinite(mean):
        return "n/a"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if math.isfinite(std) else "")


def paper_table() -> pd.DataFrame:
    """The paper's Table 1 as printed (efficiency as printed)."""
    return pd.DataFrame([{"pair of models": r["model"], "perm": f"{r['perm']:.3f}",
                          "rigid": f"{r['rigid']:.3f}", "linear": f"{r['linear']:.3f}",
                          "ICA": f"{r['ica']:.3f}",
                          "ICA efficiency": f"{r['ica_efficiency']:.0%}"} for r in PAPER_TABLE1])


def _b(fam) -> str:
    if not math.isfinite(fam.b_median):
        return NO_DECODER
    return f"{fam.b_median:.3g} (max {fam.b_max:.3g})"


def our_table(result) -> pd.DataFrame:
    """Our families: mean ± std over seed pairs, guarded efficiency, B(z) where a decoder exists."""
    rows = []
    for fam in result.families.values():
        s = fam.summary
        rows.append({"model family": FAMILY_LABELS[fam.family],
                     "seed pairs": s["n_pairs"],
                     **{k: _pm(s[g], s[f"{g}_std"]) for k, g in (
                         ("perm", "perm"), ("rigid", "rigid"), ("linear", "linear"),
                         ("ICA", "ica"))},
                     "ICA efficiency": efficiency_text(s["ica_efficiency"],
                                                       s["ica_efficiency_note"]),
                     "B(z) median": _b(fam), "regime": s["regime"]})
    return pd.DataFrame(rows)


def _npz(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _show(result) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{REPORTED}**")
        st.dataframe(paper_table(), hide_index=True, key="cmp_paper_t1")
    with right:
        st.markdown(f"**{COMPUTED}**")
        st.dataframe(our_table(result), hide_index=True, key="cmp_digits_t1")
    st.caption(f"{texts.ERROR} Ours: mean ± std over the seed pairs of each family (pairs "
               "share seeds: the std is a spread, not an uncertainty). " + texts.B_Z)
    for fam in result.families.values():
        st.markdown(f"- **{FAMILY_LABELS[fam.family]}**: {fam.summary['statement']}"
                    + (f" (alignment failed: {fam.align_error})" if fam.align_error else ""))
    st.caption(f"Regimes: {REGIME_RULE} Computed in {result.seconds:.0f} s.")
    c1, c2 = st.columns(2)
    c1.download_button("Digits embeddings (NPZ, an example upload)",
                       data=lambda: _npz(result.embeddings_npz_dict()),
                       file_name="nearid-digits-embeddings.npz", key="cmp_dl_digits_npz",
                       mime="application/octet-stream", on_click="ignore",
                       icon=":material/download:",
                       help="Held-out digit embeddings of every seed (ae_seed0, mae_seed1 "
                            "...), rows in the same order: upload it (twice, picking two "
                            "arrays) on the Upload tab." + see("latent", "held-out"))
    c2.download_button("Study (JSON)", data=lambda: json.dumps(result.to_json_dict(), indent=1),
                       file_name="nearid-digits-table1.json", mime="application/json",
                       key="cmp_dl_digits_json", on_click="ignore", icon=":material/download:")


def _compare_family(result, start, config) -> None:
    fams = list(result.families)
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    fam = c1.selectbox("Compare one family's seeds here (the digit classes as labels)", fams,
                       format_func=FAMILY_LABELS.get, key="cmp_digits_family")
    if c2.button("Compare its seeds", key="cmp_go_digits_family", disabled=config is None):
        emb = {f"{fam}_seed{k}": e for k, e in enumerate(result.families[fam].embeddings)}
        start(Inputs(emb, None, np.asarray(result.y_test), source="digits",
                     title=f"digits: {len(emb)} seeds of the {FAMILY_LABELS[fam]}"), config)


def digits_source(start, config) -> None:
    """One click: three model families, seeds against seeds, beside the paper's Table 1."""
    cfg = RealDataConfig()
    st.markdown(
        "The paper's Table 1 compares pairs of large pretrained models. Here the same "
        f"protocol runs on scikit-learn's 8×8 digits: {cfg.seeds} seeds each of three small "
        "families (an autoencoder with an orthonormal decoder, a masked autoencoder, an MLP "
        "classifier's penultimate layer), every seed pair aligned on the same held-out "
        "digits. It runs in the background (about 20 s measured on a 2-core machine, plus a "
        "worker's start-up on a server's first run); this page stays usable.")
    key = "digits:" + config_id(cfg)
    if st.button("Run Table 1 on digits", type="primary", key="cmp_go_digits",
                 icon=":material/play_arrow:"):
        compare_jobs.submit(key, "digits", "Table 1 on digits", run_digits, cfg)
        st.session_state[DIGITS] = key
    if st.session_state.get(DIGITS) != key:
        return
    job, result = job_state(key, "digits study")
    if job is not None:
        with render.guard("the digits study"):
            _show(result)
            _compare_family(result, start, config)
