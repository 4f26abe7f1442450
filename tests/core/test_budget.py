"""Resource budget: known answers of the cost model, the refusals, the settings, the cache.

No test depends on this machine's speed or memory: rates are injected, and the calibration's
measurement is replaced where its caching is tested.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.engine import budget, calibration, costs
from nearid_core.engine.budget import (
    BudgetError,
    Estimate,
    check_budget,
    default_max_memory,
    estimate,
    parse_size,
)
from nearid_core.engine.costs import Rates, Shape
from nearid_core.science import data

GB = 2**30

GiB = 2**30
REF = Rates()  # the reference machine's rates: no calibration in these tests
# The link of the bug report: /Train?n=1000000&d_x=4096&width=1024&epochs=500&seeds=16
LINK = SweepConfig(data=DataConfig(n=1_000_000, d_x=4096), model=ModelConfig(width=1024),
                   train=TrainConfig(epochs=500), seeds=16)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("NEARID_MAX_MEMORY", "NEARID_MAX_MODELS"):
        monkeypatch.delenv(var, raising=False)


# ---------------------------------------------------------------- data: float32, once

def test_observations_are_float32_of_exactly_n_times_d_x_times_4_bytes():
    ds = data.make_data(DataConfig(n=1000, d_x=64))
    assert ds.x.dtype == np.float32 and ds.x.nbytes == 1000 * 64 * 4
    assert ds.u.dtype == np.float64  # metrics stay in float64
    s = Shape.of(SweepConfig(data=DataConfig(n=1000, d_x=64)))
    assert costs.data_bytes(s) == 1000 * 64 * 4 + 1000 * 2 * 8 + 1000 * 8


@pytest.mark.parametrize("kind", ["rolled", "square"])
def test_observations_do_not_depend_on_the_block_size(kind, monkeypatch):
    cfg = DataConfig(kind=kind, n=300, noise=0.1)
    whole = data.make_data(cfg).x
    monkeypatch.setattr(data, "_BLOCK_VALUES", 7 * cfg.obs_dim)  # 43 blocks of 7 rows
    # Same float64 values and the same noise stream, rounded once to float32: equal bits.
    np.testing.assert_array_equal(data.make_data(cfg).x, whole)


# ---------------------------------------------------------------- memory model

def _peak(cfg: SweepConfig, workers: int = 2) -> int:
    return costs.memory(cfg, workers).peak


def test_memory_grows_linearly_in_n():
    peaks = [_peak(SweepConfig(data=DataConfig(n=n))) for n in (100_000, 200_000, 300_000)]
    # Every term is a whole number of bytes proportional to n (n_test is exact here).
    assert peaks[2] - peaks[1] == peaks[1] - peaks[0] > 0


def test_memory_grows_linearly_in_the_number_of_models():
    cfgs = [SweepConfig(data=DataConfig(n=100_000), leaks=(0.5,), seeds=s) for s in (8, 16, 24)]
    peaks = [_peak(c) for c in cfgs]
    assert peaks[2] - peaks[1] == peaks[1] - peaks[0] > 0


def test_each_worker_holds_its_own_copy_of_the_data():
    cfg = SweepConfig(data=DataConfig(n=200_000, d_x=1024), train=TrainConfig(epochs=1),
                      leaks=(0.0, 0.5), seeds=2)
    one = dict(costs.memory(cfg, 1).parts)["data"]
    two = dict(costs.memory(cfg, 2).parts)["data"]
    assert two - one == costs.data_bytes(Shape.of(cfg))


def test_chunks_match_the_sweep_split():
    from nearid_core.studies.sweep import chunks

    for models, workers in ((24, 2), (7, 3), (2, 4), (1, 1)):
        assert costs.chunk_sizes(models, workers) == [len(c) for c in chunks(models, workers)]


# ---------------------------------------------------------------- time model

def test_seconds_are_steps_times_the_overhead_when_compute_is_free():
    cfg = SweepConfig()  # 6,554 training rows / batch 256 = 26 steps x 30 epochs
    t = costs.seconds(cfg, workers=2, cpus=2, rates=Rates(overhead_s=0.01, scale=0.0))
    assert t["training"] == pytest.approx(780 * 0.01)
    assert t["total"] == pytest.approx(780 * 0.01)
    # Four workers on two cores share them: twice as long.
    shared = costs.seconds(cfg, workers=4, cpus=2, rates=Rates(overhead_s=0.01, scale=0.0))
    assert shared["training"] == pytest.approx(2 * 780 * 0.01)


def test_other_load_slows_the_sweep_down_in_proportion():
    cfg, rates = SweepConfig(), Rates(overhead_s=0.01, scale=0.0)
    # Two workers and two other busy processes on two cores: each runs at half speed.
    loaded = costs.seconds(cfg, workers=2, cpus=2, rates=rates, load=2.0)
    assert loaded["training"] == pytest.approx(2 * 780 * 0.01)
    # Load that leaves a core free for each worker changes nothing.
    assert costs.seconds(cfg, 2, 4, rates, load=2.0)["training"] == pytest.approx(7.8)


def test_a_slower_machine_takes_proportionally_longer():
    cfg = SweepConfig()
    fast = costs.seconds(cfg, 2, 2, Rates(0.0, 1.0))["total"]
    assert costs.seconds(cfg, 2, 2, Rates(0.0, 3.0))["total"] == pytest.approx(3 * fast)


# ---------------------------------------------------------------- refusals

def test_the_default_sweep_fits_a_4_gb_budget():
    est = check_budget(SweepConfig(), workers=2, max_memory=4 * GiB, rates=REF)
    assert est.fits and est.n_models == 24 and est.workers == 2
    assert est.budget_bytes == 4 * GiB and est.max_models == 512
    assert 0 < est.peak_bytes < 4 * GiB and est.seconds > 0
    assert est.summary().startswith("about ") and est.summary().endswith(" GB")


def test_64000_models_are_refused_by_the_models_cap():
    cfg = SweepConfig(leaks=tuple(i / 1000 for i in range(1000)), seeds=64)
    with pytest.raises(BudgetError, match="over the cap of 512 models") as err:
        check_budget(cfg, max_memory=10**15, rates=REF)
    msg = str(err.value)
    assert "64,000 models" in msg and "fewer leaks or seeds" in msg and "\n" not in msg


def test_the_issue_link_is_refused_by_a_12_gb_budget_with_what_to_lower():
    with pytest.raises(BudgetError) as err:
        check_budget(LINK, workers=2, max_memory=parse_size("12G"), rates=REF)
    msg = str(err.value)
    assert "over the budget of 12 GB" in msg and "lower" in msg and "\n" not in msg
    assert any(k in msg for k in ("seeds", "d_x", " n "))


def test_the_advice_names_a_value_that_fits():
    cfg = SweepConfig(data=DataConfig(n=400_000, d_x=256), train=TrainConfig(epochs=1),
                      leaks=(0.0, 0.5), seeds=2)
    budget_bytes = _peak(cfg) - 1
    with pytest.raises(BudgetError, match=r"lower n to ([\d,]+)") as err:
        check_budget(cfg, workers=2, max_memory=budget_bytes, rates=REF)
    n = int(err.value.args[0].split("lower n to ")[1].split()[0].replace(",", ""))
    smaller = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, n=n))
    assert n < 400_000 and _peak(smaller) <= budget_bytes


def test_budget_error_is_a_value_error():
    assert issubclass(BudgetError, ValueError)


# ---------------------------------------------------------------- settings

@pytest.mark.parametrize("text, expected", [
    ("4G", 4 * GiB), ("512M", 512 * 2**20), ("1.5GB", int(1.5 * GiB)), ("2GiB", 2 * GiB),
    ("800000000", 800_000_000), (" 3 g ", 3 * GiB), ("1k", 1024), ("1T", 2**40),
    (".5G", GiB // 2),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "0", "0G", "-1G", "lots", "1.2.3", "G", "nan", "inf",
                                  "4 X", "0.1"])
def test_parse_size_refuses_with_one_line(text):
    with pytest.raises(ValueError) as err:
        parse_size(text)
    assert "\n" not in str(err.value) and "size" in str(err.value)


def test_env_sets_the_memory_budget(monkeypatch):
    monkeypatch.setenv("NEARID_MAX_MEMORY", "3G")
    assert default_max_memory() == 3 * GiB
    with pytest.raises(BudgetError, match="budget of 3 GB"):
        check_budget(LINK, rates=REF)
    # An explicit value wins over the environment.
    assert check_budget(SweepConfig(), max_memory=8 * GiB, rates=REF).budget_bytes == 8 * GiB


def test_without_env_the_budget_is_half_the_available_memory(monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 10 * GiB)
    assert default_max_memory() == 5 * GiB


@pytest.mark.parametrize("var, value", [("NEARID_MAX_MEMORY", "lots"),
                                        ("NEARID_MAX_MEMORY", "-2G"),
                                        ("NEARID_MAX_MODELS", "many"),
                                        ("NEARID_MAX_MODELS", "0")])
def test_a_bad_env_value_is_a_one_line_budget_error_naming_it(var, value, monkeypatch):
    monkeypatch.setenv(var, value)
    with pytest.raises(BudgetError, match=var) as err:
        check_budget(SweepConfig(), rates=REF)
    assert "\n" not in str(err.value)


def test_env_sets_the_models_cap(monkeypatch):
    monkeypatch.setenv("NEARID_MAX_MODELS", "10")
    with pytest.raises(BudgetError, match="24 models .* over the cap of 10"):
        check_budget(SweepConfig(), max_memory=10**15, rates=REF)
    assert check_budget(SweepConfig(), max_memory=10**15, max_models=24, rates=REF).fits


def test_available_memory_reads_the_machine():
    assert budget.available_memory() > 0


# ---------------------------------------------------------------- summary

@pytest.mark.parametrize("seconds, size, text", [
    (40, 0.6 * GiB, "about 40 s, 0.6 GB"), (4.2, 1.25 * GiB, "about 4.2 s, 1.2 GB"),
    (0.2, 12.4 * GiB, "about 1 s, 12 GB"), (720, 0.05 * GiB, "about 12 min, 0.05 GB"),
    (5 * 3600, 2 * GiB, "about 5 h, 2 GB"),
])
def test_summary(seconds, size, text):
    assert Estimate(int(size), seconds, 24, 2).summary() == text


def test_estimate_uses_the_given_rates_and_the_default_workers(monkeypatch):
    import nearid_core.engine.executors as ex

    monkeypatch.setattr(ex, "default_workers", lambda: 3)
    monkeypatch.setattr(budget, "current_load", lambda: 1.5)
    est = estimate(SweepConfig(), rates=REF)
    assert est.workers == 3 and est.budget_bytes == 0
    expected = costs.seconds(SweepConfig(), 3, _cpus(), REF, load=1.5)["total"]
    assert est.seconds == pytest.approx(expected)


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


# ---------------------------------------------------------------- calibration cache

@pytest.fixture
def fresh_calibration(monkeypatch, tmp_path):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("NEARID_CALIBRATION", str(path))
    monkeypatch.setattr(calibration, "_RATES", {})
    calls = []
    monkeypatch.setattr(calibration, "measure", lambda: calls.append(1) or Rates(0.004, 2.0))
    return path, calls


def test_calibration_is_measured_once_and_cached(fresh_calibration, monkeypatch):
    path, calls = fresh_calibration
    assert calibration.rates() == Rates(0.004, 2.0) and calls == [1]
    assert calibration.rates() == Rates(0.004, 2.0) and calls == [1]  # this process
    monkeypatch.setattr(calibration, "_RATES", {})  # a new process reads the file
    assert calibration.rates() == Rates(0.004, 2.0) and calls == [1]
    entry = json.loads(path.read_text())[calibration.machine_key()]
    assert entry["overhead_s"] == 0.004 and entry["scale"] == 2.0


@pytest.mark.parametrize("content", ["{not json", "[]", '{"x": 1}', "", '"text"'])
def test_a_corrupt_calibration_file_is_measured_again(fresh_calibration, content):
    path, calls = fresh_calibration
    path.write_text(content)
    assert calibration.cached_rates() is None
    assert calibration.rates() == Rates(0.004, 2.0) and calls == [1]
    assert calibration.machine_key() in json.loads(path.read_text())


def test_an_insane_cached_entry_is_measured_again(fresh_calibration):
    path, calls = fresh_calibration
    path.write_text(json.dumps({calibration.machine_key(): {"overhead_s": -1, "scale": 1}}))
    assert calibration.rates() == Rates(0.004, 2.0) and calls == [1]


def test_an_unwritable_cache_still_gives_rates(fresh_calibration, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("NEARID_CALIBRATION", str(blocker / "calibration.json"))
    assert calibration.rates() == Rates(0.004, 2.0)


def test_measuring_runs_on_one_thread_and_restores_the_caller_s_threads():
    import torch

    before = torch.get_num_threads()
    found = calibration.measure()
    assert torch.get_num_threads() == before
    assert 2e-4 <= found.overhead_s <= 0.1 and 0.2 <= found.scale <= 50  # the clamps


def test_shapes_follow_the_models_layer_widths():
    from nearid_core.science.models import layer_widths

    for cfg in (SweepConfig(), SweepConfig(data=DataConfig(kind="square"),
                                           model=ModelConfig(width=64, d_z=3))):
        enc, dec = layer_widths(cfg.model, cfg.data)
        layers = [*zip(enc[:-1], enc[1:], strict=True), *zip(dec[:-1], dec[1:], strict=True)]
        assert Shape.of(cfg).weights == tuple(layers)


def test_estimating_with_known_rates_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from nearid_core import budget, calibration, costs; "
            "from nearid_core.config import SweepConfig; calibration.machine_key(); "
            "budget.check_budget(SweepConfig(), rates=costs.Rates()); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_warm_runner_saves_exactly_the_start_up_costs():
    """The app's warm runner has its interpreter and pool paid: the estimate drops START_S
    and POOL_S (scaled by the machine's rate) and nothing else (workers start their first
    analysis task warm either way)."""
    cfg, rates = SweepConfig(), Rates()
    cold = costs.seconds(cfg, 2, 2, rates)
    warm = costs.seconds(cfg, 2, 2, rates, warm=True)
    k = rates.scale
    assert warm["start"] == 0 and cold["start"] == pytest.approx(k * costs.START_S)
    assert cold["training"] - warm["training"] == pytest.approx(k * costs.POOL_S)
    assert cold["analysis"] == warm["analysis"]
    assert warm["saving"] == cold["saving"]


def test_the_apps_own_share_of_the_cores_slows_the_estimate_as_load_does(monkeypatch):
    """``extra_load`` (the app's server and browser) counts like the load average: with
    the machine idle, an estimate with 0.6 extra equals one made at load 0.6."""
    monkeypatch.setattr(budget, "current_load", lambda: 0.0)
    cfg, rates = SweepConfig(), Rates()
    mine = budget.estimate(cfg, workers=2, rates=rates, warm=True, extra_load=0.6)
    assert mine.times == costs.seconds(cfg, 2, os.cpu_count() or 1, rates, load=0.6, warm=True)
    assert mine.seconds > budget.estimate(cfg, workers=2, rates=rates, warm=True).seconds


def test_chunks_match_the_cut_of_large_grids():
    from nearid_core.studies.sweep import plan_chunks

    for models, workers in ((24, 2), (7, 3), (2, 4), (1, 1), (384, 2), (100, 1), (97, 2)):
        assert costs.chunk_sizes(models, workers) == [len(c) for c in plan_chunks(models,
                                                                                  workers)]


def test_worker_memory_stops_growing_once_chunks_are_capped():
    def parts(seeds: int) -> dict:
        cfg = SweepConfig(data=DataConfig(d_u=6, d_x=128), model=ModelConfig(width=128),
                          leaks=tuple(np.linspace(0, 1, 12)), seeds=seeds)
        return dict(costs.memory(cfg, 2).parts)

    # 192 and 384 models: two workers each hold one chunk of MAX_ENSEMBLE at a time
    assert parts(16)["jacobians"] == parts(32)["jacobians"]
    assert parts(4)["jacobians"] < parts(8)["jacobians"]  # 48 models: two chunks of 24


def test_chunks_beyond_the_workers_train_in_rounds():
    rates = Rates(overhead_s=0.01, scale=0.0)  # steps x overhead only: 26 x 30 per chunk
    small = costs.seconds(SweepConfig(seeds=4), 2, 2, rates)["training"]  # 2 chunks of 12
    assert small == pytest.approx(780 * 0.01)
    # 6 leaks x 32 seeds = 192 models: 4 chunks of 48 on 2 workers, two rounds
    big = costs.seconds(SweepConfig(seeds=32), 2, 2, rates)["training"]
    assert big == pytest.approx(2 * 780 * 0.01)


# ---------------------------------------------------------------- on a Dask cluster

BIG = SweepConfig(data=DataConfig(d_u=6, d_x=128), model=ModelConfig(width=128),
                  leaks=tuple(np.linspace(0, 1, 12)), seeds=32)  # 384 models


def test_on_a_cluster_the_budget_bounds_the_coordinators_memory():
    coord = costs.coordinator_memory(BIG)
    assert coord.peak == costs.main_bytes(Shape.of(BIG))  # the coordinator alone
    assert sum(v for _, v in coord.parts) == coord.peak
    local = costs.memory(BIG, 2).peak
    assert coord.peak < 1.5 * GB < local
    with pytest.raises(BudgetError, match="over the budget"):
        check_budget(BIG, workers=2, max_memory=int(1.5 * GB), rates=Rates())
    est = check_budget(BIG, max_memory=int(1.5 * GB), rates=Rates(), cluster=8)
    assert est.peak_bytes == coord.peak and est.cluster == 8
    # the duration assumes 8 unshared threads as fast as this machine's cores
    assert est.seconds == pytest.approx(costs.seconds(BIG, 8, 8, Rates())["total"])
    assert "8 worker threads are as fast as this machine's cores" in est.summary()


def test_a_cluster_of_unknown_size_gives_memory_and_no_duration(monkeypatch):
    est = check_budget(BIG, max_memory=int(1.5 * GB), rates=Rates(), cluster=0)
    assert np.isnan(est.seconds)
    assert est.summary() == (f"{budget.format_bytes(est.peak_bytes)} on this machine (the "
                             "workers' memory is the cluster's; so is the time)")
    # over the budget on a cluster: the advice names no --workers (they are not local)
    with pytest.raises(BudgetError) as err:
        check_budget(BIG, max_memory=int(0.5 * GB), rates=Rates(), cluster=0)
    assert "--workers" not in str(err.value)


def test_a_queued_sweep_is_checked_for_the_cluster_when_a_scheduler_is_set(tmp_path,
                                                                          monkeypatch):
    from nearid_core.runs.jobs import submit_sweep
    from nearid_core.runs.store import RunStore

    store = RunStore(tmp_path)
    with pytest.raises(BudgetError):  # this machine's pool: over 1.5 GB
        submit_sweep(store, BIG, max_memory=int(1.5 * GB))
    monkeypatch.setenv("NEARID_SCHEDULER", "tcp://127.0.0.1:1")
    sid = submit_sweep(store, BIG, max_memory=int(1.5 * GB))  # the runner's cluster
    assert store.get_sweep(sid)["status"] == "queued"
