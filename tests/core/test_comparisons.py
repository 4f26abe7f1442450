"""Saved comparisons in the run store: round trips, restarts, schema migration, kills."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nearid_core.runs import _sqlite
from nearid_core.runs import comparisons as cmp
from nearid_core.runs.store import DB_NAME, SCHEMA_VERSION, DamagedArtefact, RunStore, StoreError
from nearid_core.studies.compare import CompareConfig, compare

ROOT = Path(__file__).resolve().parents[2]
N = 120


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.laplace(size=(N, 3))
    return {"model a.npy": A, "β · seed 1 (#5)": A @ rng.normal(size=(3, 4))}


@pytest.fixture(scope="module")
def result():
    return compare(_arrays(), CompareConfig(n_boot=0))


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "home")
    yield s
    s.close()


def _version(home: Path) -> int:
    conn = sqlite3.connect(home / DB_NAME)
    try:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
                   .fetchone()[0])
    finally:
        conn.close()


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("labels", [np.array(["cat", "dog", "émeu"] * (N // 3)),
                                    np.arange(N) % 7, None])
def test_save_list_load_rename_delete_round_trip(store, result, labels):
    emb = _arrays()
    factors = np.random.default_rng(3).normal(size=(N, 2))
    cid = cmp.save_comparison(store, name="first", embeddings=emb, result=result,
                              factors=factors, labels=labels)
    assert len(cid) == 12 and int(cid, 16) >= 0
    [row] = cmp.list_comparisons(store)
    assert (row["id"], row["name"], row["n_rows"]) == (cid, "first", N)
    assert row["names"] == list(emb) and row["dims"] == [3, 4]
    saved = cmp.load_comparison(store, cid[:5])  # a unique prefix is enough
    assert list(saved.embeddings) == list(emb)
    for name, X in emb.items():  # bit for bit, dtype included
        assert saved.embeddings[name].dtype == X.dtype
        np.testing.assert_array_equal(saved.embeddings[name], X)
    np.testing.assert_array_equal(saved.factors, factors)
    if labels is None:
        assert saved.labels is None
    else:
        assert saved.labels.dtype.kind == labels.dtype.kind
        np.testing.assert_array_equal(saved.labels, labels)
    assert saved.result == result.to_json_dict() and saved.config["n_boot"] == 0
    cmp.rename_comparison(store, cid, "  renamed ")
    assert cmp.load_comparison(store, cid).name == "renamed"
    cmp.delete_comparison(store, cid)
    assert cmp.list_comparisons(store) == []
    assert not (store.artefacts_dir / "comparisons" / cid).exists()
    with pytest.raises(StoreError, match="no comparison with id"):
        cmp.load_comparison(store, cid)


def test_listed_newest_first_and_kept_across_restarts(tmp_path, result):
    home = tmp_path / "home"
    store = RunStore(home)
    ids = [cmp.save_comparison(store, name=f"c{k}", embeddings=_arrays(k), result=result)
           for k in range(3)]
    store.close()
    again = RunStore(home)  # a new process would see the same
    assert [c["id"] for c in cmp.list_comparisons(again)] == ids[::-1]
    np.testing.assert_array_equal(cmp.load_comparison(again, ids[1]).embeddings["model a.npy"],
                                  _arrays(1)["model a.npy"])
    assert cmp.id_kind(again, ids[0]) == ("comparison", ids[0])


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"embeddings": {"only": np.zeros((N, 2))}}, "at least 2"),
    ({"embeddings": {"a": np.zeros((N, 2)), "b": np.zeros((N - 1, 2))}}, "same rows"),
    ({"embeddings": {"a": np.zeros((N, 2)), "b": np.zeros(N)}}, "numeric (n_rows, d)"),
    ({"labels": np.array([object()] * N)}, "integers or text"),
    ({"labels": np.zeros(N + 1, int)}, "shape"),
    ({"factors": np.zeros((N - 1, 2))}, "factors"),
    ({"name": "x" * 201}, "200 printable"),
    ({"name": "a\nb"}, "printable"),
])
def test_bad_arguments_are_refused_before_anything_is_written(store, result, kwargs, needle):
    args = {"name": "x", "embeddings": _arrays(), "result": result} | kwargs
    with pytest.raises(ValueError, match=re.escape(needle)):
        cmp.save_comparison(store, **args)
    assert cmp.list_comparisons(store) == []
    assert not list((store.artefacts_dir / "comparisons").glob("*/arrays.npz"))


def test_damaged_or_missing_files_raise_a_clear_store_error(store, result):
    cid = cmp.save_comparison(store, name="x", embeddings=_arrays(), result=result)
    path = store.artefacts_dir / "comparisons" / cid / "arrays.npz"
    path.write_bytes(path.read_bytes()[:200])  # truncated
    with pytest.raises(DamagedArtefact, match=f"comparison {cid}.*damaged"):
        cmp.load_comparison(store, cid)
    np.savez(path, emb_0=np.zeros((N, 3)))  # readable, but not what the row says
    with pytest.raises(DamagedArtefact, match="do not match its record"):
        cmp.load_comparison(store, cid)
    path.unlink()
    with pytest.raises(StoreError, match="missing"):
        cmp.load_comparison(store, cid)
    with pytest.raises(StoreError, match="no comparison"):
        cmp.rename_comparison(store, "0123456789ab", "y")


def test_a_readonly_store_lists_and_loads_but_refuses_saves(tmp_path, result):
    home = tmp_path / "home"
    store = RunStore(home)
    cid = cmp.save_comparison(store, name="x", embeddings=_arrays(), result=result)
    store.close()
    ro = RunStore(home, readonly=True)
    assert [c["id"] for c in cmp.list_comparisons(ro)] == [cid]
    assert cmp.load_comparison(ro, cid).name == "x"
    with pytest.raises(StoreError, match="read-only"):
        cmp.save_comparison(ro, name="y", embeddings=_arrays(), result=result)
    with pytest.raises(StoreError, match="read-only"):
        cmp.delete_comparison(ro, cid)


# ---------------------------------------------------------------- schema


def _old_store(home: Path, version: int) -> None:
    """A store as nearid wrote it at ``version`` (1 or 2), with one finished sweep."""
    home.mkdir()
    ddl = [s for s in _sqlite._DDL if "comparisons" not in s]
    if version == 1:
        ddl = [s.replace(", heartbeat REAL, started_at REAL", "").replace(", 'interrupted'", "")
               for s in ddl]
    conn = sqlite3.connect(home / DB_NAME)
    for statement in ddl:
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(version),))
    conn.execute("INSERT INTO sweeps (id, name, created_at, updated_at, config, status)"
                 " VALUES ('abc', 'old', 1, 1, '{}', 'done')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_old_stores_are_migrated_to_v3_with_their_sweeps(tmp_path, result, version):
    home = tmp_path / "home"
    _old_store(home, version)
    ro = RunStore(home, readonly=True)  # a read-only look changes nothing and lists none
    assert cmp.list_comparisons(ro) == [] and _version(home) == version
    with pytest.raises(StoreError, match="no comparison"):
        cmp.load_comparison(ro, "abc")
    ro.close()
    store = RunStore(home)
    assert SCHEMA_VERSION == 3 and _version(home) == 3
    assert store.get_sweep("abc")["name"] == "old"
    cid = cmp.save_comparison(store, name="new", embeddings=_arrays(), result=result)
    assert [c["id"] for c in cmp.list_comparisons(store)] == [cid]
    assert cmp.id_kind(store, "abc") == ("sweep", "abc")


def test_an_older_nearid_refuses_a_v3_store_with_the_newer_schema_message(tmp_path,
                                                                          monkeypatch):
    home = tmp_path / "home"
    RunStore(home).close()
    monkeypatch.setattr(_sqlite, "SCHEMA_VERSION", 2)  # what nearid of schema v2 runs
    with pytest.raises(StoreError, match="schema version 3; this nearid understands up to 2"):
        RunStore(home)


# ---------------------------------------------------------------- kills and orphans


def _pair_files(tmp_path: Path) -> tuple[Path, Path]:
    emb = _arrays()
    paths = [tmp_path / "a.npy", tmp_path / "b.npy"]
    for path, X in zip(paths, emb.values(), strict=True):
        np.save(path, X)
    return paths[0], paths[1]


def _save_and_kill(tmp_path: Path, home: Path, phase: str) -> None:
    """``compare A B --save`` paused at ``phase`` by the fault hook, then SIGKILLed."""
    a, b = _pair_files(tmp_path)
    marker = tmp_path / "paused"
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1",
               NEARID_FAULT_PHASE=phase, NEARID_FAULT_MARKER=str(marker))
    proc = subprocess.Popen([sys.executable, "-m", "nearid_core", "compare", str(a), str(b),
                             "--boot", "0", "--quiet", "--save", "killed"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the save never reached the phase"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()


@pytest.mark.parametrize("then", ["recover", "next save"])
def test_a_save_killed_between_its_file_and_its_row_leaves_no_comparison(tmp_path, result,
                                                                         then):
    home = tmp_path / "home"
    kept = cmp.save_comparison(RunStore(home), name="kept", embeddings=_arrays(1),
                               result=result)
    _save_and_kill(tmp_path, home, "comparison")
    folders = [p.name for p in (home / "artefacts" / "comparisons").iterdir()
               if p.is_dir()]
    [orphan] = [f for f in folders if f != kept]
    assert (home / "artefacts" / "comparisons" / orphan / "arrays.npz").is_file()
    store = RunStore(home)  # a restart
    assert [c["id"] for c in cmp.list_comparisons(store)] == [kept]
    with pytest.raises(StoreError, match="no comparison"):
        cmp.load_comparison(store, orphan)
    if then == "recover":
        assert store.recover()["temp_files_removed"] >= 1
    else:
        cmp.save_comparison(store, name="after", embeddings=_arrays(2), result=result)
    assert not (home / "artefacts" / "comparisons" / orphan).exists()
    assert cmp.load_comparison(store, kept).name == "kept"  # the earlier one is intact


def test_a_save_killed_while_writing_its_file_leaves_no_half_file(tmp_path):
    home = tmp_path / "home"
    RunStore(home).close()
    _save_and_kill(tmp_path, home, "artefact")  # written to a temp name, not yet renamed
    assert list(home.rglob(".tmp-*")) and not list(home.rglob("arrays.npz"))
    store = RunStore(home)
    assert cmp.list_comparisons(store) == []
    store.recover()
    assert not list(home.rglob(".tmp-*"))
    assert not [p for p in (home / "artefacts" / "comparisons").iterdir() if p.is_dir()]


def test_clean_up_never_removes_files_of_a_save_in_progress(store, result):
    folder = store.artefacts_dir / "comparisons" / "feedfeedfeed"
    folder.mkdir(parents=True)
    held, release = threading.Event(), threading.Event()

    def saving() -> None:  # another process between its file and its row
        with cmp._lock(store, exclusive=False):
            held.set()
            release.wait(10)

    t = threading.Thread(target=saving)
    t.start()
    held.wait(10)
    try:
        assert cmp.remove_orphans(store) == 0 and folder.exists()
    finally:
        release.set()
        t.join()
    assert cmp.remove_orphans(store) == 1 and not folder.exists()


# ---------------------------------------------------------------- a stored sweep's models


def _fake_sweep(store: RunStore) -> tuple[str, dict, np.ndarray]:
    """A sweep as the runner leaves it (2 leaks x 3 seeds), without training anything."""
    runs = [{"index": k, "leak": leak, "seed": seed, "config": {}}
            for k, (leak, seed) in enumerate((lk, s) for lk in (0.0, 0.5) for s in range(3))]
    sid = store.create_sweep({"leaks": [0.0, 0.5], "seeds": 3}, runs=runs)
    rng = np.random.default_rng(0)
    u = rng.uniform(size=(40, 2))
    store.save_sweep_arrays(sid, "data", {"u_test": u, "x_test": rng.normal(size=(40, 8))})
    latents = {}
    for r in store.list_runs(sid):
        latents[r["index"]] = rng.normal(size=(40, 2))
        store.save_arrays(r["id"], "heldout", {"latents": latents[r["index"]]})
        status = "failed" if r["index"] == 4 else "done"
        store.set_run_result(r["id"], metrics={}, status=status,
                             reason="loss became nan" if status == "failed" else None)
    return sid, latents, u


def test_sweep_embeddings_names_the_done_models_and_returns_the_ground_truth(store):
    sid, latents, u = _fake_sweep(store)
    emb, truth = cmp.sweep_embeddings(store, sid[:6], [3, 0])
    assert list(emb) == ["α=0.5 · seed 0 (#3)", "α=0 · seed 0 (#0)"]
    np.testing.assert_array_equal(emb["α=0.5 · seed 0 (#3)"], latents[3])
    np.testing.assert_array_equal(truth, u)
    everything, _ = cmp.sweep_embeddings(store, sid)
    assert len(everything) == 5  # every done model; #4 failed
    assert cmp.default_model_indices(store.list_runs(sid)) == [0, 1, 3, 5]
    for indices, needle in (([0, 9], "no model #9"), ([4, 0], "#4 .* is failed: loss"),
                            ([0, 0], "chosen twice")):
        with pytest.raises(StoreError, match=needle):
            cmp.sweep_embeddings(store, sid, indices)


def test_default_models_take_two_seeds_of_the_lowest_middle_and_highest_leak():
    runs = [{"index": k, "leak": k // 4 / 10, "seed": k % 4, "status": "done"}
            for k in range(24)]  # 6 leaks x 4 seeds
    assert cmp.default_model_indices(runs) == [0, 1, 12, 13, 20, 21]
