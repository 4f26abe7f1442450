"""The Train page's cost estimate: "about 40 s, 0.6 GB (budget 11 GB)", before Train.

The memory estimate is arithmetic on the config (instant). The duration needs this
machine's calibration: read from its cache file, or measured once per server in a
background thread, so that the page never waits for it (until then the reference
machine's rates stand in, and the caption says so).
"""

from __future__ import annotations

import threading

import streamlit as st

from nearid_core.config import SweepConfig
from nearid_core.engine import calibration
from nearid_core.engine.budget import BudgetError, check_budget, format_bytes
from nearid_core.engine.costs import Rates
from nearid_core.engine.dask_engine import scheduler_address

from . import cache


@st.cache_resource(show_spinner=False)
def _calibrate() -> threading.Thread:
    thread = threading.Thread(target=calibration.rates, name="nearid-calibration", daemon=True)
    thread.start()
    return thread


def _rates() -> tuple[Rates, bool]:
    """This machine's rates and True, or the reference rates and False while measuring."""
    found = calibration.cached_rates()
    if found is not None:
        return found, True
    _calibrate()
    return Rates(), False


def budget_caption(cfg: SweepConfig) -> bool:
    """Show the sweep's estimated duration and peak memory; True when it fits the budget.

    Over the budget (or with a bad ``NEARID_MAX_MEMORY``), shows the one-line reason as an
    error instead and returns False: the page then disables Train.
    """
    rates, measured = _rates()
    cluster = 0 if scheduler_address() is not None else None  # $NEARID_SCHEDULER's runner
    try:
        est = check_budget(cfg, rates=rates, warm=cache.runner_warm(),
                           extra_load=cache.APP_LOAD, cluster=cluster)
    except BudgetError as err:
        st.error(f"Over the resource budget: {err}", icon=":material/memory:")
        return False
    note = ("" if measured or cluster is not None
            else " — still timing this machine, the duration is a first guess")
    st.caption(f"Estimate: {est.summary()} (budget {format_bytes(est.budget_bytes)})"
               f"{note}.")
    return True
