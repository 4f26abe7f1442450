"""The export: one file from which every stored alignment error can be recomputed.

A tiny sweep is trained in-process, exported through the command line, and read back with
``nearid_core.runs.export.load``; the rigid errors are then recomputed with plain numpy
(orthogonal Procrustes by SVD, exact diameter) from the file alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nearid_core.__main__ import main
from nearid_core.config import DataConfig, SweepConfig, TrainConfig
from nearid_core.runs.export import export_bytes, load, sweep_arrays
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import RunStore

# 2 leaks x 3 seeds: three seed pairs per leak, trained and analysed in a few seconds.
TINY = SweepConfig(data=DataConfig(n=512), train=TrainConfig(epochs=2, batch_size=128),
                   leaks=(0.0, 0.5), seeds=3, seed=7)
# The stored errors and the recomputation below run the same float64 arithmetic on the
# same float32 latents; only the order of a few sums may differ (SVD, norms): 1e-10 is
# far above that rounding and far below any real difference between two maps.
TOL = 1e-10
# The network ran in float32; recomputing it in float64 differs by float32 rounding.
F32 = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("export") / "store"
    store = RunStore(home)
    sid = submit_sweep(store, TINY, name="export")
    run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
    store.close()
    return home, sid


def _cli_export(home: Path, sid: str, out: Path, monkeypatch, capsys) -> str:
    monkeypatch.setenv("NEARID_HOME", str(home))
    assert main(["export", sid, "--out", str(out)]) == 0
    return capsys.readouterr().out


def _rigid_error(A: np.ndarray, B: np.ndarray, fit: np.ndarray, ev: np.ndarray) -> float:
    """PAPER.md section 3 with plain numpy: centre with fit means, orthogonal Procrustes
    on the fit rows, mean residual norm on the eval rows over the eval diameter of A."""
    A, B = A.astype(np.float64), B.astype(np.float64)
    mean_a, mean_b = A[fit].mean(axis=0), B[fit].mean(axis=0)
    u, _, vt = np.linalg.svd((B[fit] - mean_b).T @ (A[fit] - mean_a))
    R = u @ vt  # argmin over orthogonal R of ||(B - mean_b) R - (A - mean_a)||_F
    residual = A[ev] - ((B[ev] - mean_b) @ R + mean_a)
    diff = A[ev][:, None, :] - A[ev][None, :, :]
    diam = np.sqrt((diff ** 2).sum(axis=-1)).max()
    return float(np.linalg.norm(residual, axis=1).mean() / diam)


def test_every_stored_rigid_error_is_recomputed_from_the_file_alone(trained, tmp_path,
                                                                    monkeypatch, capsys):
    home, sid = trained
    out = tmp_path / "sweep.npz"
    _cli_export(home, sid, out, monkeypatch, capsys)
    s = load(out)
    analysis = s.analysis
    assert s.missing == [] and len(s.models) == 6 and len(s.pairs) == 6
    fit, ev = s.fit_idx, s.eval_idx
    assert len(np.intersect1d(fit, ev)) == 0 and len(fit) + len(ev) == len(s.test_idx)
    by_leak: dict[float, list[float]] = {}
    for p in s.pairs:
        a, b = s.model(p["a"]), s.model(p["b"])
        assert a.leak == b.leak == p["leak"] and a.seed != b.seed
        err = _rigid_error(a.latents, b.latents, fit, ev)
        assert abs(err - p["rigid"]) <= TOL
        by_leak.setdefault(p["leak"], []).append(err)
    stored_pairs = {float(k): v for k, v in analysis["pairs"].items()}
    for row in analysis["per_leak"]:
        errs = by_leak[row["leak"]]
        assert [q["rigid"] for q in stored_pairs[row["leak"]]] == pytest.approx(errs, abs=TOL)
        assert abs(np.mean(errs) - row["stat_rigid"]) <= TOL
    for m in s.models:  # structural: the ground truth u against each model's latents
        stored = analysis["per_model"][str(m.index)]["structural"]["rigid"]
        assert abs(_rigid_error(s.u_test, m.latents, fit, ev) - stored) <= TOL


def test_the_library_recomputes_every_group_from_the_file(trained, tmp_path, monkeypatch,
                                                          capsys):
    from nearid_core.science.alignment import GROUPS, pairwise_errors

    home, sid = trained
    out = tmp_path / "sweep.npz"
    _cli_export(home, sid, out, monkeypatch, capsys)
    s = load(out)
    for leak in TINY.leaks:
        at = [m for m in s.models if m.leak == leak]
        again = pairwise_errors([m.latents for m in at], seed=s.split_seed)
        stored = [p for p in s.pairs if p["leak"] == leak]
        for p, q in zip(stored, again, strict=True):
            assert (p["a"], p["b"]) == (at[q["i"]].index, at[q["j"]].index)
            for g in GROUPS:
                assert abs(p[g] - q[g]) <= TOL, g


def test_the_weights_are_the_ones_the_numbers_came_from(trained, tmp_path, monkeypatch,
                                                        capsys):
    home, sid = trained
    out = tmp_path / "sweep.npz"
    _cli_export(home, sid, out, monkeypatch, capsys)
    s = load(out)
    for m in s.models:
        assert m.get("w_dec_w0").dtype == np.float32 and m.get("w_dec_w0_effective") is not None
        assert m.get("w_slopes") == pytest.approx(1 - m.leak)
        assert np.allclose(m.forward("enc", s.x_test), m.latents, **F32)
        np.testing.assert_allclose(_b_of_decoder(m, m.latents), m.b, **F32)
        # The ICA artefact: latents after ICA = (z - mean) @ unmixing.T (ica.transform).
        z = m.latents.astype(np.float64)
        assert np.allclose((z - m.get("ica_mean")) @ m.get("ica_unmixing").T, m.ica_latents,
                           rtol=0, atol=TOL)
        assert m.get("epoch_loss").shape == (TINY.train.epochs,)
        assert len(m.progress_loss) >= 1  # the samples taken while training (JSON)


def _b_of_decoder(m, z: np.ndarray) -> np.ndarray:
    """B(z) = max(sigma_1, 1/sigma_d) of the exact Jacobian of the piecewise-linear decoder."""
    layers, slope = m.layers("dec"), 1.0 - m.leak
    out = []
    for point in z.astype(np.float64):
        h, J = point, np.eye(len(point))
        for k, (w, b) in enumerate(layers):
            h, J = h @ w.T + b, w.astype(np.float64) @ J
            if k < len(layers) - 1:
                gain = np.where(h > 0, 1.0, slope)
                h, J = h * gain, gain[:, None] * J
        s = np.linalg.svd(J, compute_uv=False)
        out.append(max(s[0], 1 / s[-1]))
    return np.array(out)


def test_the_file_has_one_naming_scheme_and_loads_without_pickle(trained, tmp_path,
                                                                 monkeypatch, capsys):
    home, sid = trained
    out = tmp_path / "sweep.npz"
    text = _cli_export(home, sid, out, monkeypatch, capsys)
    assert "wrote 6 models" in text and "not in the file" not in text
    with np.load(out, allow_pickle=False) as z:
        names = set(z.files)
        assert not any(n.startswith("run") for n in names)
        assert not any("loss_history" in n for n in names)
        assert {"model_leak", "model_seed", "model_status", "split_fit_idx", "pair_models",
                "config_json", "analysis_json", "models_json"} <= names
        assert list(z["model_leak"]) == [0.0] * 3 + [0.5] * 3
        assert list(z["model_status"]) == ["done"] * 6
        assert json.loads(str(z["config_json"]))["seeds"] == 3
    assert out.read_bytes() == export_bytes(RunStore(home), sid)  # the app's download


def test_the_reader_needs_numpy_only(tmp_path):
    code = ("import sys; import nearid_core.runs.exported, nearid_core.runs.export; "
            "bad = {'torch', 'scipy', 'sqlite3', 'streamlit'} & set(sys.modules); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def _damage(home: Path, sid: str, index: int, name: str) -> None:
    run = RunStore(home).list_runs(sid)[index]
    path = home / "artefacts" / sid / run["id"] / name
    if name == "heldout.npz":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # cut in half
    else:
        path.unlink()


def test_a_damaged_sweep_exports_what_exists_and_says_what_is_missing(trained, tmp_path,
                                                                      monkeypatch, capsys):
    home, sid = trained
    copy = tmp_path / "store"
    shutil.copytree(home, copy)
    _damage(copy, sid, 1, "heldout.npz")
    _damage(copy, sid, 2, "ica.npz")
    _damage(copy, sid, 3, "state_dict.pt")
    out = tmp_path / "damaged.npz"
    text = _cli_export(copy, sid, out, monkeypatch, capsys)
    s = load(out)
    assert len(s.missing) == 3 and text.count("not in the file") == 3
    assert "model 1" in s.missing[0] and "held-out arrays damaged" in s.missing[0]
    assert "model 2" in s.missing[1] and "no ICA" in s.missing[1]
    assert "model 3" in s.missing[2] and "no weights" in s.missing[2]
    assert str(copy) not in " ".join(s.missing)  # no server paths
    assert s.model(1).latents is None and s.model(1).get("w_enc_w0") is not None
    assert s.model(2).ica_latents is None and s.model(2).latents is not None
    assert s.model(3).get("w_enc_w0") is None and s.model(3).latents is not None
    assert s.model(0).latents is not None and len(s.pairs) == 6  # the stored numbers stay
    assert s.model(1).missing and not s.model(0).missing


def test_a_cancelled_sweep_exports_its_trained_models(tmp_path, monkeypatch, capsys):
    home = tmp_path / "store"
    store = RunStore(home)
    # Far more epochs than it will run: the cancel, asked at the first training report, must
    # land before the end however late a busy machine delivers that report (it failed when
    # the cancel waited for 20% of a 200-step run, under load).
    cfg = SweepConfig(data=TINY.data, train=TrainConfig(epochs=5000, batch_size=128),
                      leaks=(0.0,), seeds=2)
    sid = submit_sweep(store, cfg)

    def cancel_midway(p) -> None:
        if p.fraction > 0:
            store.request_cancel(sid)

    assert run_sweep_job(store, sid, executor=ThreadPoolExecutor(1),
                         on_progress=cancel_midway) is None
    arrays = sweep_arrays(store, sid)
    assert list(arrays["model_status"]) == ["cancelled", "cancelled"]
    assert "pair_models" not in arrays and json.loads(str(arrays["analysis_json"])) is None
    out = tmp_path / "cancelled.npz"
    text = _cli_export(home, sid, out, monkeypatch, capsys)
    s = load(out)
    assert s.analysis is None and s.model(0).latents is not None
    assert "analysis: none stored (the sweep is cancelled)" in s.missing
    assert "no ICA (ica.npz absent: the model is cancelled)" in s.missing[0]
    assert "analysis: none stored" in text


def test_a_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, run0_latents=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="nearid-export/1"):
        load(path)
