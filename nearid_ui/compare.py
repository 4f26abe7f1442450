"""The Compare page's parts: settings, the four sources as tabs, the running job, its result.

Sources (``compare_upload``, ``compare_sources``, ``compare_digits``) each end in an
explicit action that calls ``start`` with an ``Inputs``; the job runs in the background
(``compare_jobs``), keyed by the inputs' contents and the settings, and the section under
the tabs follows the session's last started comparison (``ACTIVE``).

Test seam: uploads are read only through ``compare_upload.read_uploads`` (the uploader's
files as ``(name, bytes)`` pairs); tests can drive the real ``st.file_uploader`` with
AppTest's ``file_uploader(key=...).set_value`` or monkeypatch that one function.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from nearid_core.config import MAX_SEED, to_dict
from nearid_core.studies.compare import CI_LEVEL, CompareConfig

from . import compare_jobs, compare_results, render
from .compare_worker import run_compare
from .glossary import see
from .live import duration

ACTIVE = "cmp_active"  # session key: the job key whose result is shown under the tabs
ICA_RULES = ("by variance", "fixed number")


@dataclass(frozen=True, eq=False)
class Inputs:
    """Embeddings of the same rows (name -> (n, d_k)), optional factors (n, k) and labels (n,)."""

    embeddings: dict[str, np.ndarray]
    factors: np.ndarray | None = None
    labels: np.ndarray | None = None
    title: str = ""
    source: str = "upload"  # "upload", "sweep", "saved" or "digits"
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)  # e.g. the saved comparison's id

    @property
    def n_rows(self) -> int:
        return next(iter(self.embeddings.values())).shape[0]


def digest(inputs: Inputs, config: CompareConfig) -> str:
    """The job key: every array's name, shape, dtype and bytes, and the settings."""
    h = hashlib.sha256(json.dumps(to_dict(config), sort_keys=True).encode())
    parts = [*inputs.embeddings.items(), ("\0factors", inputs.factors),
             ("\0labels", inputs.labels)]
    for name, arr in parts:
        h.update(name.encode() + b"\0")
        if arr is not None:
            arr = np.ascontiguousarray(arr)
            h.update(f"{arr.shape}{arr.dtype.str}".encode())
            h.update(arr.tobytes())
    return "compare:" + h.hexdigest()


def start(inputs: Inputs, config: CompareConfig) -> None:
    """Start (or reuse) the comparison of ``inputs`` and show it under the tabs."""
    key = digest(inputs, config)
    compare_jobs.submit(key, "compare", inputs.title, run_compare, dict(inputs.embeddings),
                        config, inputs.factors, inputs.labels, inputs=inputs)
    st.session_state[ACTIVE] = key


def settings() -> CompareConfig | None:
    """The comparison settings in an expander; None (after a message) when invalid."""
    with st.expander("Settings: seed, re-drawn splits, ICA"):
        c1, c2, c3, c4 = st.columns(4)
        seed = c1.number_input("Seed", 0, MAX_SEED, 0, key="cmp_seed",
                               help="The fit/eval split, FastICA and every derived seed."
                               + see("seed", "held-out"))
        n_boot = c2.number_input(
            "Re-drawn splits", 0, 200, 5, key="cmp_boot",
            help=f"Seeded fit/eval splits for the {CI_LEVEL:.0%} intervals (0: no intervals; "
                 "otherwise at least 2). Each refits perm, rigid and linear."
                 + see("bootstrap", "held-out"))
        rule = c3.radio("ICA components", ICA_RULES, key="cmp_icarule",
                        help="ICA runs on each embedding's top principal components: enough "
                             "for a share of the variance (capped at 32), or a fixed number "
                             "(capped by the embedding's width)." + see("pca", "ica"))
        if rule == ICA_RULES[0]:
            share = c4.slider("Variance kept", 0.50, 1.00, 0.99, 0.01, key="cmp_icavar")
            fixed = None
        else:
            fixed = c4.number_input("Components", 1, 4096, 8, key="cmp_icak")
            share = 0.99
    try:
        return CompareConfig(seed=int(seed), n_boot=int(n_boot), ica_variance=float(share),
                             ica_components=None if fixed is None else int(fixed))
    except ValueError as err:
        st.error(f"These settings cannot be used: {err}")
        return None


@st.fragment(run_every=1.0)
def follow(key: str) -> None:
    """Live progress of a running job with a cancel button; reruns the page when it ends."""
    job = compare_jobs.get(key)
    if job is None or job.state()[0] != "running":
        st.rerun()
    fraction, message = job.progress.read()
    cancelling = job.progress.cancelled()
    st.progress(fraction, text=f"**{job.title}** · {message} · {fraction:.0%} · "
                               f"{duration(job.seconds())} so far"
                               + (" · stopping…" if cancelling else ""))
    st.button("Cancel", key=f"cancel_{key[-12:]}", on_click=job.cancel, disabled=cancelling,
              icon=":material/stop:", help="Stops at the next progress step.")


def job_state(key: str | None, what: str) -> tuple[compare_jobs.Job | None, object]:
    """The job under ``key`` when it is done (with its result); otherwise a message or the
    live progress, and (None, None)."""
    job = compare_jobs.get(key) if key else None
    if job is None:
        if key:
            st.info(f"The {what} is no longer kept on the server: start it again.")
        return None, None
    state, payload = job.state()
    if state == "running":
        follow(key)
    elif state == "cancelled":
        st.warning(f"The {what} was cancelled ({payload}). Start it again to see it.")
    elif state == "failed":
        st.error(f"The {what} failed: {render.scrub(str(payload))}. Nothing was saved.")
    else:
        return job, payload
    return None, None


def results() -> None:
    """The session's last comparison: progress while it runs, then every part of it."""
    key = st.session_state.get(ACTIVE)
    if key is None:
        st.info("Nothing compared yet: upload two or more files, pick models of a stored "
                "sweep, open a saved comparison, or run Table 1 on digits (above), then press "
                "**Compare**.")
        return
    job, result = job_state(key, "comparison")
    if job is not None:
        with render.guard("the comparison"):
            compare_results.show(job, result)


TABS = ("Upload files", "Models of a stored sweep", "Saved comparisons", "Table 1 on digits")


def sources(config: CompareConfig | None) -> None:
    """The four sources as tabs; each ends in an explicit action that starts a job."""
    from . import compare_digits, compare_sources, compare_upload

    compare_jobs.warm_up()
    upload, sweep, saved, digits = st.tabs(list(TABS))
    with upload, render.guard("the uploads"):
        compare_upload.upload_source(start, config)
    with sweep, render.guard("the sweep picker"):
        compare_sources.sweep_source(start, config)
    with saved, render.guard("the saved comparisons"):
        compare_sources.saved_source(start)
    with digits, render.guard("Table 1 on digits"):
        compare_digits.digits_source(start, config)
