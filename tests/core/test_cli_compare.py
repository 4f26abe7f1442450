"""``compare`` and ``realdata`` on the command line: known answers, a stored sweep, saved
comparisons, and every bad file of ``bad_embedding_files`` ending in one line."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from nearid_core import __main__ as entry
from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs import comparisons as cmp
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import DB_NAME, RunStore

sys.path.insert(0, str(Path(__file__).parent))
from bad_embedding_files import BAD_FILES, SET_LEVEL, good_file  # noqa: E402

TINY = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                   leaks=(0.0, 0.5), seeds=2)
N, D = 400, 4


def nearid(*args, home: Path, cwd: Path, timeout: float = 300):
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "nearid_core", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """``main(argv)`` in-process in ``tmp_path/work`` with the store at ``tmp_path/home``."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "home"))

    def call(*argv: str) -> tuple[int, str, str]:
        code = entry.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return call


def _rigid_pair(folder: Path, noise: float = 0.0) -> tuple[Path, Path]:
    """A and B = A Q + b (+ noise): Procrustes error 0 without noise, PAPER.md §3."""
    rng = np.random.default_rng(0)
    A = rng.laplace(size=(N, D))  # (n, d)
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    B = A @ Q + np.array([3.0, -1.0, 0.5, 2.0]) + noise * rng.normal(size=(N, D))
    np.save(folder / "a.npy", A)
    np.save(folder / "b.npy", B)
    return folder / "a.npy", folder / "b.npy"


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nearid: error: "), err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------- known answers


def test_a_rigid_copy_gives_rigid_zero_and_cka_one_on_stdout_and_in_json(tmp_path):
    a, b = _rigid_pair(tmp_path)
    res = nearid("compare", "a.npy", "b.npy", "--json", "out.json", "--quiet",
                 home=tmp_path / "home", cwd=tmp_path)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    row = next(line for line in res.stdout.splitlines() if line.split()[:2] == ["a.npy", "b.npy"])
    # perm [interval], rigid [interval] ...: cell 2 is perm, cell 3 rigid (4 words each).
    assert "0.0000 [0.0000, 0.0000]" in row and row.split()[-2:] == ["1.000", "0.000"]
    assert "Table 1 per ordered pair" in res.stdout and "90% interval over 5" in res.stdout
    doc = json.loads((tmp_path / "out.json").read_text())
    r = next(r for r in doc["result"]["rows"] if (r["a"], r["b"]) == ("a.npy", "b.npy"))
    assert r["rigid"] < 1e-9 and r["linear"] < 1e-9  # exact up to round-off
    assert r["rigid_lo"] <= r["rigid"] <= r["rigid_hi"] and r["perm_lo"] <= r["perm"]
    assert r["cka"] == pytest.approx(1.0, abs=1e-12) and r["procrustes_angle"] < 1e-6
    assert r["perm"] > 0.05  # a random rotation is far from a signed permutation
    assert doc["settings"]["boot"] == 5 and doc["settings"]["seed"] == 0
    assert [f["label"] for f in doc["files"]] == ["a.npy", "b.npy"]
    assert doc["notes"] and len(doc["table"]) == 2 and "efficiency" in doc["table"][0]
    assert not (tmp_path / "home").exists()  # nothing saved without --save


def test_maps_reproduce_the_rigid_error_and_csv_holds_the_table(tmp_path, run):
    work = tmp_path / "work"
    _rigid_pair(work, noise=0.05)
    code, out, _ = run("compare", "a.npy", "b.npy", "--maps", "m.npz", "--json", "o.json",
                       "--csv", "t.csv", "--quiet")
    assert code == 0
    row = next(r for r in json.loads((work / "o.json").read_text())["result"]["rows"]
               if (r["a"], r["b"]) == ("a.npy", "b.npy"))
    A, B = np.load(work / "a.npy"), np.load(work / "b.npy")
    with np.load(work / "m.npz", allow_pickle=False) as z:
        M, o, ev = z["a.npy__b.npy__rigid_matrix"], z["a.npy__b.npy__rigid_offset"], \
            z["split_eval_idx"]
        assert list(z["names"]) == ["a.npy", "b.npy"]
        np.testing.assert_array_equal(z["rows"], np.arange(N))  # no row was dropped
    assert np.allclose(M.T @ M, np.eye(D), atol=1e-10)  # a rigid map is orthogonal
    diameter = pdist(A[ev]).max()  # exact: few rows
    assert row["diameter"] == pytest.approx(diameter, rel=1e-12)
    err = np.linalg.norm(A[ev] - (B[ev] @ M + o), axis=1).mean() / diameter
    # The same affine map applied by hand: only summation order differs from compare's.
    assert err == pytest.approx(row["rigid"], rel=1e-9) and 0.001 < err < 0.05
    table = (work / "t.csv").read_text().splitlines()
    assert table[0].startswith("a,b,d_a,d_b,k_common,perm") and len(table) == 3
    before = (work / "t.csv").read_bytes()
    code, _, err_text = run("compare", "a.npy", "b.npy", "--csv", "t.csv")
    assert code == 2 and "--force" in _one_error_line(err_text)
    assert (work / "t.csv").read_bytes() == before


def test_different_widths_and_labels_print_k_common_and_per_label_rows(tmp_path, run):
    work = tmp_path / "work"
    rng = np.random.default_rng(1)
    A = rng.laplace(size=(N, 3))
    np.save(work / "a.npy", A)
    np.savez(work / "more.npz", wide=np.tanh(A @ rng.normal(size=(3, 5))),
             labels=np.arange(N) % 2)
    code, out, _ = run("compare", "a.npy", "more.npz:wide", "--labels", "more.npz:labels",
                       "--boot", "0", "--ica-components", "2", "--quiet")
    assert code == 0
    assert "different widths (3 vs 5)" in out and "top 3 principal components" in out
    assert "per label" in out and "ICA on a.npy runs on its top 2 principal components" in out
    assert "Diameters of the references' eval rows" in out and "interval" not in out.split(
        "notes:")[0].split("\n", 3)[2]


# ---------------------------------------------------------------- a stored sweep


@pytest.fixture(scope="module")
def sweep_home(tmp_path_factory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("compare_sweep") / "home"
    store = RunStore(home)
    sid = submit_sweep(store, TINY, name="tiny")
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    store.close()
    return home, sid


def test_a_stored_sweeps_models_are_compared_with_its_ground_truth(sweep_home, tmp_path,
                                                                  monkeypatch, capsys):
    home, sid = sweep_home
    monkeypatch.setenv("NEARID_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert entry.main(["compare", "--sweep", sid[:5], "--models", "0,3", "--json", "s.json",
                       "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "α=0 · seed 0 (#0)" in out and "α=0.5 · seed 1 (#3)" in out
    assert "against the ground-truth factors" in out and "MCC" in out
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["sweep"] == sid and doc["models"] == [0, 3] and not doc["default_models"]
    assert set(doc["result"]["truth"]) == {"α=0 · seed 0 (#0)", "α=0.5 · seed 1 (#3)"}
    assert entry.main(["compare", "--sweep", sid, "--quiet", "--boot", "0"]) == 0
    assert "(the default choice)" in capsys.readouterr().out
    for argv, needle in ((["--models", "0,9"], "no model #9"),
                         (["--models", "0,0"], "twice"),
                         (["a.npy", "b.npy"], "give no files"),
                         (["--factors", "u.npy"], "give no files")):
        assert entry.main(["compare", "--sweep", sid, *argv]) == 2
        assert needle in _one_error_line(capsys.readouterr().err)


def test_saved_comparisons_are_listed_shown_and_deleted(tmp_path, run):
    _rigid_pair(tmp_path / "work", noise=0.05)
    code, out, _ = run("compare", "a.npy", "b.npy", "--save", "my pair", "--quiet",
                       "--boot", "0")
    assert code == 0 and "saved as comparison" in out
    store = RunStore(tmp_path / "home")
    [saved] = cmp.list_comparisons(store)
    loaded = cmp.load_comparison(store, saved["id"])
    np.testing.assert_array_equal(loaded.embeddings["a.npy"], np.load(tmp_path / "work/a.npy"))
    code, out, _ = run("list")
    assert code == 0 and "saved comparisons" in out and "my pair" in out
    code, out, _ = run("show", saved["id"][:6])
    assert code == 0 and "Table 1 per ordered pair" in out and "my pair" in out
    code, out, _ = run("delete", saved["id"])
    assert code == 0 and f"deleted saved comparison {saved['id']}" in out
    assert cmp.list_comparisons(store) == []
    code, _, err = run("delete", saved["id"])
    assert code == 2 and "no sweep or saved comparison" in _one_error_line(err)


# ---------------------------------------------------------------- realdata


def test_realdata_prints_both_tables_and_writes_an_example_upload(tmp_path, run):
    code, out, err = run("realdata", "--seeds", "2", "--epochs", "3", "--clf-epochs", "3",
                         "--npz", "digits.npz", "--json", "digits.json", "--quiet")
    assert code == 0, err
    assert "paper (pretrained models)" in out and "ours (digits)" in out
    assert "Pythia-160M" in out and "masked autoencoder" in out and "timings:" in out
    assert "regimes (" in out
    path = tmp_path / "work" / "digits.npz"
    with np.load(path, allow_pickle=False) as z:
        assert {"ae_seed0", "ae_seed1", "mae_seed0", "clf_seed1", "labels"} <= set(z.files)
        assert z["ae_seed0"].shape[0] == z["labels"].shape[0]
    assert json.loads((tmp_path / "work" / "digits.json").read_text())["config"]["seeds"] == 2
    code, out, _ = run("compare", "digits.npz:ae_seed0", "digits.npz:ae_seed1", "--labels",
                       "digits.npz:labels", "--boot", "0", "--quiet")
    assert code == 0 and "digits.npz:ae_seed0" in out and "per label" in out
    code, _, err = run("realdata", "--seeds", "1")
    assert code == 2 and "--seeds" in _one_error_line(err)


# ---------------------------------------------------------------- bad input


def _snapshot(root: Path) -> dict:
    """Every file under ``root``; the database by its logical content (WAL aside)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.name.endswith(("-wal", "-shm")) or p.is_dir():
            continue
        if p.name == DB_NAME:
            conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
            out[str(p)] = tuple(conn.iterdump())
            conn.close()
        else:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def kept(tmp_path) -> Path:
    """A store with one saved comparison, and an output file that must survive."""
    store = RunStore(tmp_path / "home")
    emb = {"x": np.random.default_rng(0).laplace(size=(40, 2)),
           "y": np.random.default_rng(1).laplace(size=(40, 2))}
    from nearid_core.studies.compare import CompareConfig, compare

    cmp.save_comparison(store, name="kept", embeddings=emb,
                        result=compare(emb, CompareConfig(n_boot=0)))
    store.close()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "out.json").write_text("keep me")
    return tmp_path


def test_the_fuzz_table_is_large_enough():
    assert len(BAD_FILES) >= 30


@pytest.mark.parametrize(("case", "build", "problem"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_every_bad_file_ends_in_one_line_naming_it(kept, run, monkeypatch, case, build,
                                                   problem):
    files = kept / "files"
    files.mkdir()
    bad, good = build(files), good_file(files)
    before = _snapshot(kept)
    code, out, err = run("compare", str(bad), str(good), "--json", "out.json", "--force",
                         "--save", "never", "--quiet")
    assert code == 2, err
    line = _one_error_line(err)
    assert bad.name in line and out == ""
    if problem in SET_LEVEL:  # the files load alone and fail together
        assert str(good.name) in line or problem != "rows_mismatch"
    assert _snapshot(kept) == before


@pytest.mark.parametrize("case", ["png_as_npy", "npy_nan_row", "csv_ragged", "npz_two_arrays"])
def test_bad_files_in_a_real_process_end_in_one_line(kept, case):
    _, build, _ = next(c for c in BAD_FILES if c[0] == case)
    files = kept / "files"
    files.mkdir()
    bad, good = build(files), good_file(files)
    before = _snapshot(kept)
    res = nearid("compare", str(bad), str(good), "--save", "never", home=kept / "home",
                 cwd=kept / "work")
    assert res.returncode == 2 and res.stdout == ""
    assert bad.name in _one_error_line(res.stderr)
    assert _snapshot(kept) == before


def test_every_bad_file_is_reported_before_exiting(kept, run):
    files = kept / "files"
    files.mkdir()
    (files / "x.txt").write_text("1,2\n")
    np.save(files / "flat.npy", np.arange(10.0))
    code, out, err = run("compare", str(files / "x.txt"), str(good_file(files)),
                         str(files / "flat.npy"), str(files / "gone.npy"))
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 3 and "Traceback" not in err
    for name, line in zip(("x.txt", "flat.npy", "gone.npy"), lines, strict=True):
        assert line.startswith(f"nearid: error: {name}: ")
    assert "reshape(-1, 1)" in lines[1] and "(to fix:" not in lines[1]  # it says how itself


@pytest.mark.parametrize(("argv", "needle"), [
    (["a.npy"], "two or more files"),
    ([], "two or more files"),
    (["a.npy", "a.npy"], "given twice"),
    (["a.npy", "b.npy", "--boot", "1"], "--boot"),
    (["a.npy", "b.npy", "--max-mb", "0"], "--max-mb"),
    (["a.npy", "b.npy", "--ica-variance", "0"], "--ica-variance"),
    (["a.npy", "b.npy", "--ica-components", "0"], "--ica-components"),
    (["a.npy", "b.npy", "--axis", "-1"], "--axis"),
    (["a.npy", "b.npy", "--models", "0,1"], "--sweep"),
    (["a.npy", "b.npy", "--sweep", "zz"], "--sweep"),
    (["a.npy", "b.npy", "--save", "a\nb"], "--save"),
    (["a.npy", "b.npy", "--json", "out.json"], "--force"),
    (["a.npy", "b.npy", "--maps", "m.npy"], "--maps"),
    (["a.npy", "b.npy", "--csv", "missing/t.csv"], "does not exist"),
    (["a.npy", "b.npy", "--factors", "u.npy"], "u.npy: "),
    (["a.npy", "b.npy", "--labels", "a.npy"], "a.npy: has 4 columns"),
    (["a.npz", "b.npy"], "a.npz: holds 2 arrays"),
    (["a.npz:nope", "b.npy"], "has no array 'nope'"),
    (["--sweep", "0123456789ab"], "no run store"),
])
def test_bad_options_end_in_one_line(kept, run, monkeypatch, argv, needle):
    work = kept / "work"
    _rigid_pair(work)
    np.savez(work / "a.npz", x=np.zeros((3, 3)), y=np.zeros((3, 3)))
    before = _snapshot(kept)
    monkeypatch.delenv("NEARID_MAX_UPLOAD_MB", raising=False)
    if needle == "no run store":
        monkeypatch.setenv("NEARID_HOME", str(kept / "nowhere"))
    code, out, err = run("compare", *argv)
    assert code == 2 and out == ""
    assert needle in _one_error_line(err)
    assert _snapshot(kept) == before


def test_a_garbled_upload_limit_in_the_environment_is_one_line(kept, run, monkeypatch):
    _rigid_pair(kept / "work")
    monkeypatch.setenv("NEARID_MAX_UPLOAD_MB", "lots")
    code, _, err = run("compare", "a.npy", "b.npy")
    assert code == 2 and "NEARID_MAX_UPLOAD_MB" in _one_error_line(err)
