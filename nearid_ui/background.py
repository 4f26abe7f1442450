"""UMAP projections in a background process: never blocks a page, computed once per key.

One spawned worker process for the whole server (UMAP's first fit compiles numba code for
30-60 s; in a process it neither holds the server's GIL nor slows other users' pages).
Results stay in memory for the life of the server.
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import streamlit as st

from nearid_core.engine.executors import OwnedPool, spawn_context
from nearid_core.science.projection import MAX_POINTS, Projection, project


@st.cache_resource(show_spinner=False)
def _pool() -> ProcessPoolExecutor:
    # Dies with the server, however it ends; never re-runs the page script as __main__.
    return OwnedPool(1, spawn_context())


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[tuple, Future]:
    return {}


def umap(key: tuple, X: np.ndarray) -> tuple[str, Projection | str | None]:
    """State of the UMAP projection of X under ``key``: ("running", None), ("done",
    Projection) or ("failed", message). The first call starts it."""
    jobs = _jobs()
    fut = jobs.get(key)
    if fut is None:
        try:
            fut = _pool().submit(project, np.asarray(X), method="umap", max_points=MAX_POINTS)
        except RuntimeError as err:  # a broken pool (its worker died): start a new one
            _pool.clear()
            return "failed", f"the UMAP worker stopped ({err}); try again"
        jobs[key] = fut
    if not fut.done():
        return "running", None
    err = fut.exception()
    if err is not None:
        return "failed", f"{type(err).__name__}: {err}"
    return "done", fut.result()
