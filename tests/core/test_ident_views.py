"""A stored tiny sweep read back: L names, fits, claims, the CLI tables and the report agree."""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nearid_core.commands import sweeps as commands
from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.science import efficiency
from nearid_core.studies import summary
from nearid_core.views import ident_views, report
from nearid_core.views.results import load_view

# Three leaks: the least a Theorem-1 fit accepts; 6 models train in a few seconds.
TINY3 = SweepConfig(data=DataConfig(n=512, d_x=16), model=ModelConfig(width=16),
                    train=TrainConfig(epochs=2, batch_size=128), leaks=(0.0, 0.5, 0.9),
                    seeds=2)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("store"))
    sweep_id = submit_sweep(store, TINY3, name="tiny3")
    with ThreadPoolExecutor(1) as ex:
        run_sweep_job(store, sweep_id, executor=ex)
    return store, sweep_id


def test_L_columns_mean_what_their_names_say(stored):
    store, sweep_id = stored
    view = load_view(store, sweep_id)
    for row in view.per_leak:
        L = {b: [m.metrics[b] for m in view.done if m.leak == row["leak"]]
             for b in ("L_max", "L_mean")}
        assert row["L_max_max"] == max(L["L_max"]) >= row["L_max_mean"] == pytest.approx(
            np.mean(L["L_max"]), rel=1e-12)
        assert row["L_mean_max"] == max(L["L_mean"]) >= row["L_mean_mean"]
        # B and L agree: the largest B at a leak is 1 + the max over seeds of each max B − 1
        assert row["L_max_max"] == pytest.approx(row["B_max"] - 1, abs=1e-12)
        assert "L_max" not in row and "L_mean" not in row


def test_fits_over_leaks_and_pairs_use_the_named_L(stored):
    store, sweep_id = stored
    view = load_view(store, sweep_id)
    curves = ident_views.error_curves(view, L_kind="L_max_max")
    assert curves.L.tolist() == [r["L_max_max"] for r in view.per_leak]
    fit = curves.fits["rigid"]["leak"]
    assert fit.ok and fit.n_leaks == 3 and fit.c_low <= fit.c <= fit.c_high
    pairs = summary.pair_rows(view.analysis, view.runs())
    by_index = {m.index: m.metrics["L_max"] for m in view.done}
    for p in pairs:  # a pair's L is the larger of its two models'
        assert p["L_max"] == max(by_index[p["model_a"]], by_index[p["model_b"]])
    unit = curves.fits["rigid"]["unit"]
    assert unit.n_points == len(pairs) == 3
    rows = ident_views.fit_rows(curves)
    assert [r["theorem"] for r in rows] == ["Theorem 1 bounds this error"] * 2
    others = ident_views.fit_rows(curves, ["perm"])
    assert {r["theorem"] for r in others} == {"not covered by Theorem 1"}


def test_cli_show_and_report_use_the_same_names_and_rules(stored, monkeypatch, capsys):
    store, sweep_id = stored
    monkeypatch.setenv("NEARID_HOME", str(store.home))
    commands._print_sweep(store, sweep_id)
    out = capsys.readouterr().out
    for name in summary.L_SUMMARIES:
        assert name in out
    assert "over leaks, L = L_max_max" in out and "over seed pairs" in out
    assert "nan" not in out.lower()
    html = report.render(store, sweep_id)
    assert "L_max_max" in html and "Theorem-1 fit" in html and "L_max_mean" in html
    verdicts = re.findall(r"(holds here|does not hold here|cannot tell here) \(", html)
    assert len(verdicts) == 6  # the four trends and the two ICA claims, each decided
    view = load_view(store, sweep_id)
    for r in view.per_leak:  # every efficiency cell is a percentage or a reason, never nan
        cell = efficiency.short(r["ica_efficiency"], r["ica_efficiency_note"])
        assert cell.endswith("%") == math.isfinite(r["ica_efficiency"])


def test_a_fit_on_one_leak_says_why_there_is_none(capsys):
    pair = {"i": 0, "j": 1, "model_a": 0, "model_b": 1, "perm": 0.3, "rigid": 0.1,
            "linear": 0.05, "ica": 0.2}
    doc = {"per_leak": [{"leak": 0.5, "models": 2, "B_max": 3.0, "L_max": 1.5, "L_mean": 0.5,
                         "stat_perm": 0.3, "stat_rigid": 0.1, "stat_linear": 0.05,
                         "stat_ica": 0.2, "recon_mse": 1e-3}],
           "per_model": {"0": {}, "1": {}}, "pairs": {"0.5": [pair]}}
    runs = [{"index": i, "leak": 0.5, "seed": i, "status": "done",
             "metrics": {"L_max": 1.0 + i, "L_mean": 0.5}} for i in range(2)]
    commands._print_fits(doc, runs)
    out = capsys.readouterr().out
    assert "no fit: needs errors at ≥ 3 leaks, has 1" in out
    assert "nan" not in out and "1 leaks" not in out
