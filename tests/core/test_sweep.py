from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.engine import costs
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore
from nearid_core.science.models import EnsembleAE
from nearid_core.science.training import encode
from nearid_core.studies.sweep import chunks, dataset_for, train_sweep

TINY = SweepConfig(data=DataConfig(n=512, d_x=16), model=ModelConfig(width=16),
                   train=TrainConfig(epochs=2, batch_size=128), leaks=(0.0, 0.5), seeds=2)


def test_chunks_cover_every_model_once():
    assert chunks(5, 2) == [[0, 1, 2], [3, 4]]
    assert chunks(2, 8) == [[0], [1]]


def test_process_pool_chunks_give_the_same_models_as_one_ensemble():
    with ThreadPoolExecutor(1) as ex:
        one = train_sweep(TINY, executor=ex)
    split = train_sweep(TINY)  # default: a process pool, one chunk per worker
    for a, b in zip(one, split, strict=True):
        assert (a.index, a.leak, a.seed) == (b.index, b.leak, b.seed)
        # Each model's arithmetic is independent of the others: float32 rounding only.
        np.testing.assert_allclose(a.latents, b.latents, atol=1e-5)
        np.testing.assert_allclose(a.b, b.b, rtol=1e-4)


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("store"))
    sweep_id = submit_sweep(store, TINY, name="tiny")
    with ThreadPoolExecutor(1) as ex:
        analysis = run_sweep_job(store, sweep_id, executor=ex)
    return store, sweep_id, analysis


def test_job_saves_every_run_and_the_analysis(done_sweep):
    store, sweep_id, analysis = done_sweep
    sweep = store.get_sweep(sweep_id)
    assert sweep["status"] == "done" and sweep["progress"] == 1.0
    assert [r["leak"] for r in sweep["analysis"]["per_leak"]] == [0.0, 0.5]
    # rolled data is an exact isometry: the generator's own B is 1 up to float64 rounding
    assert sweep["analysis"]["generator"]["B_max"] == pytest.approx(1.0, abs=1e-9)
    runs = store.list_runs(sweep_id)
    assert [r["status"] for r in runs] == ["done"] * 4
    assert all(len(r["loss_history"]) >= 1 for r in runs)
    assert runs[0]["metrics"]["L_max"] == pytest.approx(0.0, abs=1e-5)  # linear, orthogonal
    assert "after" in runs[0]["metrics"]
    ica = store.load_arrays(runs[0]["id"], "ica")  # z = mean + s @ mixing.T
    np.testing.assert_allclose(ica["mean"] + ica["latents"] @ ica["mixing"].T,
                               store.load_arrays(runs[0]["id"], "heldout")["latents"],
                               atol=1e-8)


def test_stored_weights_reproduce_the_stored_latents(done_sweep):
    store, sweep_id, _ = done_sweep
    run = store.list_runs(sweep_id)[3]
    model = EnsembleAE(TINY.model, TINY.data, [run["leak"]], [run["seed"]])
    model.load_member_state(0, store.load_state_dict(run["id"]))
    x_test = store.load_sweep_arrays(sweep_id, "data")["x_test"]
    np.testing.assert_allclose(encode(model, x_test)[0],
                               store.load_arrays(run["id"], "heldout")["latents"], atol=1e-6)
    np.testing.assert_array_equal(x_test, dataset_for(TINY).x_test)


def test_same_config_same_numbers(done_sweep, tmp_path):
    store, sweep_id, first = done_sweep
    other = RunStore(tmp_path)
    with ThreadPoolExecutor(1) as ex:
        again = run_sweep_job(other, submit_sweep(other, TINY), executor=ex)
    def numbers(rows):  # everything but wall-clock timings
        return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in rows]

    assert numbers(again.per_leak) == numbers(first.per_leak)


def test_cancel_stops_training_at_a_known_step_and_keeps_the_runs(tmp_path, monkeypatch):
    """The cancel lands at a step the test picks: the worker holds at step K until the
    main thread has seen step K's report and cancelled, so no timing is involved."""
    from nearid_core.studies import sweep as sweep_mod

    K, real = 12, sweep_mod._reporter  # 4 steps an epoch: step 12 ends the third epoch

    def gated(indices, q, stop, token):
        inner = real(indices, q, stop, token)

        def on_step(info):
            if info.step == K:
                q.put((token, tuple(indices), info.step, info.total_steps, info.losses.tolist()))
                assert stop.wait(60), "the cancel never reached the worker"
                return True
            return inner(info)
        return on_step

    monkeypatch.setattr(sweep_mod, "_reporter", gated)
    store = RunStore(tmp_path)
    cfg = SweepConfig(data=DataConfig(n=640, d_x=16), model=ModelConfig(width=16),
                      train=TrainConfig(epochs=200, batch_size=128, holdout=0.2),
                      leaks=(0.3,), seeds=2)
    sweep_id = submit_sweep(store, cfg)
    total = 4 * 200
    seen = []

    def cancel_at_step_k(p):
        seen.append(p.fraction)
        if p.fraction >= K / total:
            store.request_cancel(sweep_id)

    with ThreadPoolExecutor(1) as ex:
        out = run_sweep_job(store, sweep_id, executor=ex, on_progress=cancel_at_step_k)
    assert out is None and max(seen) == K / total
    sweep = store.get_sweep(sweep_id)
    assert sweep["status"] == "cancelled" and "user" in sweep["reason"]
    runs = store.list_runs(sweep_id)
    assert [r["status"] for r in runs] == ["cancelled", "cancelled"]
    for r in runs:  # what was trained is kept: the two whole epochs before step 12's epoch
        assert store.load_arrays(r["id"], "heldout")["loss_history"].shape == (2,)
    assert torch.isfinite(store.load_state_dict(runs[0]["id"])["enc_w0"]).all()


def test_runner_trains_every_queued_sweep_and_is_alone(tmp_path):
    from nearid_core.runs.jobs import ensure_runner, runner_loop
    from nearid_core.runs.runner import take_lock as _lock

    store = RunStore(tmp_path)
    assert not ensure_runner(store)  # nothing queued: nothing started
    first, second = submit_sweep(store, TINY, name="a"), submit_sweep(store, TINY, name="b")
    held = _lock(store.home)  # another runner holds the store: this one leaves at once
    assert runner_loop(store, workers=1) == 0
    held.close()
    # Two users' sweeps queue behind one runner and both finish, oldest first.
    assert runner_loop(store, workers=1) == 2
    assert [store.get_sweep(s)["status"] for s in (first, second)] == ["done", "done"]
    assert store.get_sweep(first)["updated_at"] < store.get_sweep(second)["updated_at"]


def test_a_runner_never_leaves_a_job_queued(tmp_path, monkeypatch):
    """A sweep submitted while the runner is finishing (queue seen empty, lock still held,
    so the submitter starts no runner) is still run by that runner."""
    from contextlib import contextmanager

    from nearid_core.runs import jobs

    @contextmanager
    def threads(executor, workers=None):
        with ThreadPoolExecutor(1) as ex:
            yield ex

    monkeypatch.setattr(jobs, "executor_or_default", threads)
    store = RunStore(tmp_path)
    first = submit_sweep(store, TINY, name="first")
    late: list[str] = []
    real = jobs._drain_queue

    def drain_then_someone_submits(store_, workers):
        ran = real(store_, workers)
        if not late:  # in the window between "queue empty" and releasing the lock
            late.append(submit_sweep(store, TINY, name="late"))
            assert jobs.runner_alive(store) and not jobs.ensure_runner(store)
        return ran

    monkeypatch.setattr(jobs, "_drain_queue", drain_then_someone_submits)
    assert jobs.runner_loop(store, workers=1) == 2
    assert [store.get_sweep(s)["status"] for s in (first, *late)] == ["done", "done"]


def test_a_grid_larger_than_max_ensemble_is_cut_into_more_chunks(monkeypatch):

    submitted = []

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            submitted.append(args[1])  # the chunk's model indices
            return super().submit(fn, *args, **kwargs)

    with ThreadPoolExecutor(1) as ex:
        one = train_sweep(TINY, executor=ex)
    monkeypatch.setattr(costs, "MAX_ENSEMBLE", 1)
    with Counting(1) as ex:
        cut = train_sweep(TINY, executor=ex)
    assert sorted(submitted) == [[0], [1], [2], [3]]  # one model per ensemble
    for a, b in zip(one, cut, strict=True):
        assert (a.index, a.leak, a.seed) == (b.index, b.leak, b.seed)
        np.testing.assert_allclose(a.latents, b.latents, atol=1e-5)  # float32 rounding
        np.testing.assert_allclose(a.b, b.b, rtol=1e-4)


def test_progress_counts_chunks_not_yet_started_as_steps_to_go(monkeypatch):
    import nearid_core.studies.sweep as sweep_module

    monkeypatch.setattr(costs, "MAX_ENSEMBLE", 1)  # 4 chunks, one at a time
    started, bad = [], []
    real = sweep_module.train_chunk

    def counted(*args, **kwargs):
        started.append(1)
        return real(*args, **kwargs)

    def check(p) -> None:  # never ahead of the chunks that have started
        if p.fraction > len(started) / 4 + 1e-9:
            bad.append((p.fraction, len(started)))

    monkeypatch.setattr(sweep_module, "train_chunk", counted)
    with ThreadPoolExecutor(1) as ex:
        train_sweep(TINY, executor=ex, on_progress=check)
    assert len(started) == 4 and bad == []
    assert sweep_module._fraction({(0,): (10, 10), (1,): (0, 1)}) == 0.5


def test_plan_chunks_caps_every_ensemble_at_max_ensemble():
    from nearid_core.engine.costs import MAX_ENSEMBLE
    from nearid_core.studies.sweep import plan_chunks

    assert plan_chunks(24, 2) == chunks(24, 2)  # small grids: one chunk per worker
    for models, workers in ((384, 2), (100, 1), (97, 2), (48, 1), (49, 1)):
        parts = plan_chunks(models, workers)
        assert sorted(i for p in parts for i in p) == list(range(models))
        assert max(map(len, parts)) <= MAX_ENSEMBLE
        # as few chunks as the cap allows, and at least one per worker
        assert len(parts) == max(workers, -(-models // MAX_ENSEMBLE))


def _one_model_chunks(monkeypatch, fail_on: int | None = None):
    """Chunks of one model each, run one after another; chunk ``fail_on`` raises."""
    import nearid_core.studies.sweep as sweep_module

    monkeypatch.setattr(costs, "MAX_ENSEMBLE", 1)
    real, started = sweep_module.train_chunk, []

    def chunk(cfg_dict, indices, channel=None):
        started.append(indices[0])
        if indices == [fail_on]:
            raise RuntimeError("a worker's chunk broke")
        return real(cfg_dict, indices, channel)

    monkeypatch.setattr(sweep_module, "train_chunk", chunk)
    return started


def test_each_chunk_reaches_on_chunk_as_it_ends(monkeypatch):
    started = _one_model_chunks(monkeypatch)
    seen: list[tuple[list[int], list[int]]] = []  # (chunk's models, chunks started by then)
    with ThreadPoolExecutor(1) as ex:
        out = train_sweep(TINY, executor=ex,
                          on_chunk=lambda c: seen.append(([o.index for o in c], list(started))))
    assert [s[0] for s in seen] == [[0], [1], [2], [3]]
    # chunk k was handed over before chunk k + 2 started: not all at the end
    assert all(len(by) <= k + 2 for k, (_, by) in enumerate(seen))
    assert [o.index for o in out] == [0, 1, 2, 3]


def test_a_failing_chunk_raises_after_the_others_and_keeps_what_ended(monkeypatch):
    _one_model_chunks(monkeypatch, fail_on=2)
    got: list[int] = []
    with ThreadPoolExecutor(1) as ex, pytest.raises(RuntimeError, match="chunk broke"):
        train_sweep(TINY, executor=ex, on_chunk=lambda c: got.extend(o.index for o in c))
    # models 0 and 1 ended before the failure; model 3 was stopped by it, so is not passed
    # on as "cancelled" (nobody cancelled it)
    assert got == [0, 1]


def test_a_sweep_whose_chunk_fails_keeps_the_models_that_ended(tmp_path, monkeypatch):
    _one_model_chunks(monkeypatch, fail_on=2)
    store = RunStore(tmp_path)
    sweep_id = submit_sweep(store, TINY, name="breaks")
    with ThreadPoolExecutor(1) as ex, pytest.raises(RuntimeError):
        run_sweep_job(store, sweep_id, executor=ex)
    sweep = store.get_sweep(sweep_id)
    assert sweep["status"] == "failed" and "chunk broke" in sweep["reason"]
    runs = store.list_runs(sweep_id)
    assert [r["status"] for r in runs] == ["done", "done", "failed", "failed"]
    for r in runs[:2]:  # their arrays and weights were written before the failure
        held = store.load_arrays(r["id"], "heldout")
        assert held["latents"].shape == (round(512 * 0.2), 2)
        assert held["singular_values"].shape == (round(512 * 0.2), 2)
        assert r["metrics"]["recon_mse"] > 0


def test_streamed_saves_store_what_one_ensemble_stores(monkeypatch, tmp_path, done_sweep):
    store, sweep_id, _ = done_sweep
    _one_model_chunks(monkeypatch)
    other = RunStore(tmp_path)
    cut_id = submit_sweep(other, TINY, name="cut")
    with ThreadPoolExecutor(1) as ex:
        run_sweep_job(other, cut_id, executor=ex)
    for a, b in zip(store.list_runs(sweep_id), other.list_runs(cut_id), strict=True):
        ha, hb = store.load_arrays(a["id"], "heldout"), other.load_arrays(b["id"], "heldout")
        assert set(ha) == set(hb)
        for key in ha:
            np.testing.assert_allclose(ha[key], hb[key], rtol=1e-4, atol=1e-5)
        assert a["metrics"].keys() == b["metrics"].keys()


def test_a_chunk_trained_to_the_end_counts_whole_even_before_its_reports_arrive():
    from nearid_core.studies.sweep import _fraction

    steps = {(0,): (0, 1), (1,): (5, 10)}  # chunk (0,) has ended, no report of it yet
    assert _fraction(steps, {(0,)}) == 0.75
    assert _fraction(steps) == 0.25


def test_a_chunks_models_are_analysed_as_it_ends_with_the_same_results(monkeypatch, tmp_path,
                                                                       done_sweep):
    import nearid_core.runs.jobs as jobs_module

    store, sweep_id, _ = done_sweep
    _one_model_chunks(monkeypatch)
    events: list[tuple[str, int]] = []
    real_saver = jobs_module._ChunkSaver.__call__
    monkeypatch.setattr(jobs_module._ChunkSaver, "__call__", lambda self, chunk: (
        events.append(("chunk", chunk[0].index)), real_saver(self, chunk))[1])

    class Recording(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            if fn.__name__ == "analyse_model":
                events.append(("analyse", len(events)))
            return super().submit(fn, *args, **kwargs)

    other = RunStore(tmp_path)
    cut_id = submit_sweep(other, TINY, name="cut")
    with Recording(1) as ex:
        run_sweep_job(other, cut_id, executor=ex)
    kinds = [k for k, _ in events]
    # each chunk's model is handed to the analysis right after the chunk is written
    assert kinds == ["chunk", "analyse"] * 4
    ours, theirs = other.get_sweep(cut_id)["analysis"], store.get_sweep(sweep_id)["analysis"]
    assert ours["per_model"] == theirs["per_model"] and ours["pairs"] == theirs["pairs"]
