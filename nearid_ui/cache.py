"""Cached wrappers around the core: one store per home, one view per sweep version.

Cache keys are the store home, the sweep id and its ``updated_at`` stamp (a done sweep never
changes, so its entries live until evicted) plus the settings of the call.

The science modules (torch, scikit-learn: about 3 s to import) are imported inside the
functions that need them, and preloaded in a background thread when the server starts, so
the Home page draws at once on a cold start.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from nearid_core.config import DataConfig, to_dict
from nearid_core.runs.store import RunStore, StoreError, default_home

from .jobs import keep_warm, runner_enabled

if TYPE_CHECKING:
    from nearid_core.science.projection import Projection
    from nearid_core.views import explore, results


def _preload() -> None:
    import torch

    torch.set_num_threads(1)  # the app shares two cores with training workers
    import plotly.graph_objects as go

    import nearid_core.runs.jobs  # noqa: F401 - the warm-up button submits through it
    import nearid_core.science.alignment  # noqa: F401 - see below
    import nearid_core.science.metrics  # noqa: F401
    import nearid_core.views.explore  # noqa: F401
    import nearid_core.views.results  # noqa: F401
    from nearid_core.engine.calibration import rates
    from nearid_core.views.plots import style

    # science.alignment and science.metrics above: the analysis imports its science where
    # it runs, so without them a page's first ICA or alignment would import it and
    # scikit-learn (1-2 s) on the way to a sweep's results.
    rates()  # the budget check's machine speed: from its cache file, else measured now
    # plotly loads its templates and validators on the first figure (~0.5 s): not in a page
    style(go.Figure(go.Scatter(x=[0, 1], y=[0, 1], error_y={"array": [0, 0]})),
          title="warm").to_json()


log = logging.getLogger("nearid.app")


@st.cache_resource(show_spinner=False)
def _preloading() -> threading.Thread:
    t = threading.Thread(target=_preload, name="nearid-preload", daemon=True)
    t.start()
    return t


@st.cache_resource(show_spinner=False)
def _store(home: str) -> RunStore:
    """Open (and cache) the store; an unusable one raises StoreError and is not cached, so a
    fixed store works on the next page load."""
    try:
        s = RunStore(home)
    except (OSError, sqlite3.Error) as err:  # the store names these itself; belt and braces
        log.error("cannot open the run store at %s: %r", home, err)
        raise StoreError(f"the run store cannot be opened ({type(err).__name__})") from None
    if s.readonly:
        return s  # nothing may be written: no recovery, no runner
    try:
        s.recover()  # sweeps left running by a process that died are marked interrupted
    except (StoreError, OSError) as err:  # showing results does not need it
        log.error("store recovery failed: %s", err)
    return s


def home() -> str:
    return str(default_home().resolve())


def store() -> RunStore:
    """The run store of this app ($NEARID_HOME or ./.nearid); StoreError if unusable."""
    _preloading()
    try:
        s = _store(home())
    except OSError as err:  # resolving $NEARID_HOME itself failed (e.g. a loop of links)
        raise StoreError(f"the run store cannot be opened ({type(err).__name__})") from None
    try:  # sweeps queued before a restart go on training; a runner gone idle comes back
        keep_warm(s)
    except (StoreError, OSError) as err:
        log.error("cannot start the background runner: %s", err)
    return s


# Cores the app itself takes while a sweep runs: its server and a browser on the same
# machine. Measured: the paper sweep on the warm runner took 9.0-10.3 s alone and 13.5-15 s
# with the app and a headless Chromium open on it (BENCHMARKS.md), about 0.6 of 2 cores.
APP_LOAD = 0.6


def runner_warm() -> bool:
    """Whether a runner holds this store (the app's warm runner, waiting or busy): sweeps
    submitted now pay no interpreter, pool or first-analysis start-up."""
    from nearid_core.runs.runner import runner_alive

    try:
        return runner_enabled() and runner_alive(store())
    except (StoreError, OSError):
        return False


def readonly() -> bool:
    """Whether the store is on read-only media (browse and export only)."""
    return store().readonly


def sweeps() -> list[dict]:
    """Every stored sweep, newest first (not cached: a cheap query that must be fresh)."""
    return store().list_sweeps()


def sweep_row(sweep_id: str) -> dict | None:
    try:
        return store().get_sweep(sweep_id)
    except (StoreError, KeyError, ValueError):
        return None


FULL_READ_S = 2.0  # a live poll reads the store at least this often, token or not


def live_row(sweep_id: str) -> dict | None:
    """``sweep_row`` for a fast poll: read again only when the store changed (its
    ``change_token``) or ``FULL_READ_S`` passed, so a poll every 0.25 s costs two ``stat``
    calls between the owner's writes (at most two a second)."""
    try:
        token = store().change_token()
    except StoreError:
        return None
    memo = st.session_state.setdefault("_live_rows", {})
    now = time.monotonic()
    hit = memo.get(sweep_id)
    if hit is not None and hit[0] == token and now - hit[1] < FULL_READ_S:
        return hit[2]
    row = sweep_row(sweep_id)
    memo[sweep_id] = (token, now, row)
    return row


@st.cache_data(max_entries=24, show_spinner=False)
def _view(home_: str, sweep_id: str, stamp: float) -> results.SweepView:
    from nearid_core.views.results import load_view

    return load_view(_store(home_), sweep_id)


def view(sweep_id: str) -> results.SweepView:
    """The sweep's view, cached per version (``updated_at``)."""
    row = store().get_sweep(sweep_id)
    return _view(home(), row["id"], row["updated_at"])


@st.cache_data(max_entries=64, show_spinner=False)
def _error_curves(home_: str, sweep_id: str, stamp: float, kind: str, L_kind: str):
    from nearid_core.views import results

    return results.error_curves(_view(home_, sweep_id, stamp), kind=kind, L_kind=L_kind)


def error_curves(v: results.SweepView, kind: str, L_kind: str) -> results.ErrorCurves:
    return _error_curves(home(), v.id, v.updated_at, kind, L_kind)


@st.cache_data(max_entries=32, show_spinner="Sampling the data and measuring its generator…")
def _data_preview(cfg_json: str) -> explore.DataPreview:
    from nearid_core.views import explore

    return explore.data_preview(DataConfig(**json.loads(cfg_json)))


def data_preview(cfg: DataConfig) -> explore.DataPreview:
    return _data_preview(json.dumps(to_dict(cfg), sort_keys=True))


@st.cache_data(max_entries=64, show_spinner="Measuring B(z) over the latent plane…")
def _b_map(home_: str, sweep_id: str, stamp: float, index: int, resolution: int):
    from nearid_core.views import explore

    return explore.b_map(_store(home_), _view(home_, sweep_id, stamp), index,
                         resolution=resolution)


def b_map(v: results.SweepView, index: int, resolution: int = 60) -> explore.BMap:
    return _b_map(home(), v.id, v.updated_at, index, resolution)


@st.cache_data(max_entries=64, show_spinner="Decoding traversals…")
def _traversals(home_: str, sweep_id: str, stamp: float, index: int, steps: int):
    from nearid_core.views import explore

    return explore.traversals(_store(home_), _view(home_, sweep_id, stamp), index, steps=steps)


def traversals(v: results.SweepView, index: int, steps: int = 7) -> explore.Traversals:
    return _traversals(home(), v.id, v.updated_at, index, steps)


@st.cache_data(max_entries=128, show_spinner=False)
def _correlations(home_: str, sweep_id: str, stamp: float, index: int) -> dict:
    from nearid_core.science.metrics import mcc

    v = _view(home_, sweep_id, stamp)
    m = v.model(index)
    out = {}
    for name, z in (("before", m.latents), ("after", m.ica_latents)):
        if z is not None and v.u_test is not None and np.isfinite(z).all():
            r = mcc(z, v.u_test)
            out[name] = {"corr": r.corr, "pairs": r.pairs, "score": r.score}
    return out


def correlations(v: results.SweepView, index: int) -> dict:
    """'before'/'after' -> {corr (d_z, d_u), pairs (k, 2), score} of a model's latents."""
    return _correlations(home(), v.id, v.updated_at, index)


@st.cache_data(max_entries=64, show_spinner=False)
def _pca(home_: str, sweep_id: str, stamp: float, index: int, source: str) -> Projection:
    from nearid_core.science.projection import project

    return project(_latents(_view(home_, sweep_id, stamp), index, source), method="pca")


def _latents(v: results.SweepView, index: int, source: str) -> np.ndarray:
    m = v.model(index)
    z = m.ica_latents if source == "after" else m.latents
    if z is None:
        raise ValueError(f"model #{index} has no {'ICA ' if source == 'after' else ''}latents")
    return z


def pca_projection(v: results.SweepView, index: int, source: str) -> Projection:
    return _pca(home(), v.id, v.updated_at, index, source)


def latents(v: results.SweepView, index: int, source: str) -> np.ndarray:
    return _latents(v, index, source)
