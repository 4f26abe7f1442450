"""The Train page shows the resource estimate, and refuses an over-budget link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nearid_core.engine import calibration

ROOT = Path(__file__).resolve().parents[2]
# The bug report's link: 16 seeds x 6 leaks of width 1,024 on 1e6 x 4,096 observations.
OVER = {"n": "1000000", "d_x": "4096", "width": "1024", "epochs": "500", "seeds": "16"}


@pytest.fixture
def train_page(tmp_path, use_home, monkeypatch):
    use_home(tmp_path)
    cache = tmp_path / "calibration.json"  # known rates: nothing is measured
    cache.write_text(json.dumps({calibration.machine_key(): {"overhead_s": 0.003,
                                                             "scale": 1.0}}))
    monkeypatch.setenv("NEARID_CALIBRATION", str(cache))
    monkeypatch.setattr(calibration, "_RATES", {})

    def open_page(query: dict | None = None, budget: str = "12G") -> AppTest:
        monkeypatch.setenv("NEARID_MAX_MEMORY", budget)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params.update(query or {})
        at.run()
        at.switch_page("app_pages/train_page.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return open_page


def _train_button(at: AppTest):
    return next(b for b in at.button if b.label == "Train")


def test_an_over_budget_link_disables_train_and_says_what_to_lower(train_page):
    at = train_page(OVER)
    assert at.number_input(key="n").value == 1_000_000  # the link was applied
    errors = " ".join(e.value for e in at.error)
    assert "over the budget of 12 GB" in errors and "lower" in errors
    assert _train_button(at).disabled
    assert not any(c.value.startswith("Estimate:") for c in at.caption)


def test_a_sweep_that_fits_shows_its_estimate_and_can_train(train_page):
    at = train_page(budget="64G")
    assert not at.error
    estimate = [c.value for c in at.caption if c.value.startswith("Estimate:")]
    assert len(estimate) == 1 and "(budget 64 GB)" in estimate[0]
    assert estimate[0].startswith("Estimate: about ") and " GB" in estimate[0]
    assert not _train_button(at).disabled


def test_a_bad_budget_variable_is_shown_not_raised(train_page):
    at = train_page(budget="lots")
    assert "NEARID_MAX_MEMORY" in " ".join(e.value for e in at.error)
    assert _train_button(at).disabled


def test_with_a_scheduler_the_estimate_is_this_machines_part(train_page, monkeypatch):
    # the 12 x 32 grid on 6 factors: over 2 GB as this machine's pool, not as a coordinator
    big = {"d_u": "6", "d_x": "128", "width": "128", "seeds": "32", "leakmode": "range of leaks",
           "leaks": "0,0.95", "nleaks": "12"}
    assert _train_button(train_page(big, budget="2G")).disabled
    monkeypatch.setenv("NEARID_SCHEDULER", "tcp://127.0.0.1:1")  # the runner's cluster
    at = train_page(big, budget="2G")
    assert not at.error and not _train_button(at).disabled
    (estimate,) = [c.value for c in at.caption if c.value.startswith("Estimate:")]
    assert estimate.endswith("on this machine (the workers' memory is the cluster's; so is "
                             "the time) (budget 2 GB).")
