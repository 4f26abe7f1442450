"""The disentanglement study (Table 2): known answers of its scoring, the shapes generator,
config messages, a tiny run, traversals and the command line."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
import torch

from nearid_core import __main__ as entry
from nearid_core.commands.disentangle import add_disentangle_parser, cmd_disentangle
from nearid_core.runs.store import RunStore
from nearid_core.runs.study_jobs import load_traversals
from nearid_core.science.data import orthonormal_columns
from nearid_core.science.shapes import EDGE_BLUR, ShapesGenerator, ShapesSpec, make_shapes
from nearid_core.studies._disentangle_result import DatasetResult, verdicts
from nearid_core.studies._disentangle_scores import ModelScores
from nearid_core.studies.disentangle import (
    METRICS,
    PAPER_TABLE2,
    DisentangleCancelled,
    DisentangleConfig,
    analyse_latents,
    run_disentangle,
    score_latents,
    traversal_grids,
)

# Every data set, 2 seeds, a few hundred samples and 2 epochs: a few seconds in all.
TINY = DisentangleConfig(seeds=2, epochs=2, n=512, width=16, batch_size=64)


@functools.cache
def _tiny():
    return run_disentangle(TINY)


def _grid_factors(n: int, k: int, levels: int, seed: int) -> np.ndarray:
    """Independent factors, each uniform over ``levels`` values (as the benchmarks')."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, levels, size=(n, k)).astype(float)


# ---------------------------------------------------------------- known answers


def test_a_signed_permutation_of_the_factors_scores_perfectly():
    u = _grid_factors(600, 4, 6, seed=1)
    perm, signs = [2, 0, 3, 1], np.array([1.0, -1.0, -1.0, 1.0])
    z = u[:, perm] * signs * [0.5, 3.0, 1.0, 7.0] + 2.0  # signed permutation, scaled, shifted
    s = score_latents(z, u, seed=0)
    # MCC: each matched |corr| is exactly 1 (float rounding only).
    assert s["mcc"] == pytest.approx(1.0, abs=1e-12)
    # DCI D: each Lasso keeps only its own latent (spurious |corr| ~ 1/sqrt(n) times the 1%
    # shrinkage stays below alpha), so every importance row is one-hot.
    assert s["dci_d"] == pytest.approx(1.0, abs=1e-6)
    # InfoM/InfoC: the k-NN MI of independent pairs is not exactly 0 (estimator bias of a
    # few hundredths of a nat against log 6 = 1.8 nats); InfoE: separable classes, in-sample.
    assert s["infom"] > 0.95 and s["infoc"] > 0.95 and s["infoe"] > 0.98
    assert s["n_active"] == 4 and "active" in s


def test_ica_recovers_factors_mixed_into_twice_as_many_latents():
    rng = np.random.default_rng(3)
    u = rng.uniform(-1, 1, size=(1200, 3))  # non-Gaussian, independent
    mix = orthonormal_columns(rng, 6, 3).T * np.array([[3.0], [1.0], [0.5]])  # (3, 6)
    z = u @ mix + 1e-3 * rng.standard_normal((1200, 6))  # tiny noise: full rank for ICA (all)
    res = analyse_latents(z, u, n_factors=3, seed=0)
    ae, k, every = (res.scores[m] for m in ("ae", "ica_k", "ica_all"))
    # Unmixing a linear mixture is ICA's known answer: up to sign and order (MCC ~ 1, the
    # noise is 1e-3 of unit-scale sources); the mixed latents are far from it.
    assert k["mcc"] > 0.99 and every["mcc"] > 0.99 and ae["mcc"] < 0.95
    assert k["infom"] > ae["infom"] + 0.2
    # ICA of all latents is an invertible map: InfoE is carried over, not refitted.
    assert every["infoe"] == ae["infoe"] and res.kept.tolist() == list(range(6))
    assert res.ica_k.mixing.shape == (6, 3) and res.ica_all.mixing.shape == (6, 6)


def test_verdicts_follow_the_numbers():
    def fake(name, ae, ica):
        model = ModelScores({"ae": dict.fromkeys(METRICS, ae), "ica_k": dict.fromkeys(
            METRICS, ica), "ica_all": dict.fromkeys(METRICS, ae)}, None, None, np.arange(2))
        return DatasetResult(name, 2, 4, [0, 1], [model, model], np.zeros((2, 5, 4)),
                             np.zeros((5, 2)), np.zeros(2), 1.0, {}, 0.0, 0.0)

    out = verdicts([fake("shapes", 0.4, 0.7), fake("rolled", 0.5, 0.8), fake("mlp", 0.5, 0.5)])
    by = {(v["claim"], v["method"]): v for v in out}
    assert by[("isometric_gain_every_seed", "ica_k")]["passed"] is True
    assert "2 of 2 seeds" in by[("isometric_gain_every_seed", "ica_k")]["text"]
    assert by[("control_gain_shrinks", "ica_k")]["passed"] is True
    assert by[("control_gain_shrinks", "ica_k")]["gains"]["isometric"]["infom"] == (
        pytest.approx(0.3))
    assert by[("isometric_gain_every_seed", "ica_all")]["passed"] is False  # no gain at all
    only_control = verdicts([fake("mlp", 0.5, 0.5)])
    assert all(v["passed"] is None for v in only_control)


# ---------------------------------------------------------------- shapes


def test_image_moments_give_back_every_factor():
    gen = ShapesGenerator(ShapesSpec())
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, size=(5, 4)) * gen.unit
    x = gen(torch.from_numpy(u)).numpy().reshape(-1, 16, 16)
    nat = gen.natural(torch.from_numpy(u)).numpy()  # centre x, centre y, side, brightness
    px = np.arange(16) + 0.5  # pixel centres
    for img, (cx, cy, side, bright) in zip(x, nat, strict=True):
        col, row = img.sum(axis=0), img.sum(axis=1)  # profiles along x and y
        mx, my = (px @ col) / col.sum(), (px @ row) / row.sum()
        var_x = ((px - mx) ** 2 @ col) / col.sum()
        # A box of width `side` blurred by a Gaussian has variance side^2/12 + blur^2; the
        # pixel sums match the integrals to ~1e-4 px (smooth profile, tails inside the canvas).
        assert (mx, my) == (pytest.approx(cx, abs=1e-3), pytest.approx(cy, abs=1e-3))
        assert np.sqrt(12 * (var_x - EDGE_BLUR**2)) == pytest.approx(side, abs=1e-2)
        # Constant energy: the image's L2 norm is the brightness times a constant.
        assert np.linalg.norm(img) == pytest.approx(gen.energy * bright, rel=1e-9)


def test_generator_is_an_isometry_at_the_centre_and_discretises():
    gen = ShapesGenerator(ShapesSpec())
    jac = torch.autograd.functional.jacobian(gen, torch.zeros(4, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(jac.T @ jac, np.eye(4), atol=1e-9)  # orthonormal columns
    data = make_shapes(ShapesSpec(n=400, levels=3, seed=2))
    assert data.x.shape == (400, 256) and data.x.dtype == np.float32
    for k in range(4):
        np.testing.assert_allclose(np.unique(data.u[:, k]), [-gen.unit[k], 0, gen.unit[k]])
    again = make_shapes(ShapesSpec(n=400, levels=3, seed=2))
    np.testing.assert_array_equal(data.x, again.x)
    assert not set(data.train_idx) & set(data.test_idx)


# ---------------------------------------------------------------- config


@pytest.mark.parametrize("kwargs, words", [
    ({"seeds": 0}, ["DisentangleConfig.seeds", "integer in [1, 16]", "0"]),
    ({"datasets": ("shapes", "dsprites")}, ["DisentangleConfig.datasets", "selection of",
                                            "'dsprites'"]),
    ({"datasets": ("mlp", "mlp")}, ["DisentangleConfig.datasets", "without repeats"]),
    ({"datasets": ()}, ["DisentangleConfig.datasets", "non-empty"]),
    ({"rolled_factors": 7}, ["DisentangleConfig.rolled_factors", "[2, 6]", "7"]),
    ({"latents_per_factor": 5}, ["DisentangleConfig.latents_per_factor", "[1, 4]", "5"]),
    ({"weight_decay": -0.1}, ["DisentangleConfig.weight_decay", ">= 0.0", "-0.1"]),
    ({"leak": 1.5}, ["DisentangleConfig.leak", "<= 1.0", "1.5"]),
    ({"d_x": 6}, ["DisentangleConfig.d_x", ">= 8", "rolled_factors", "6"]),
    ({"levels": 1}, ["DisentangleConfig.levels", "[2, 20]", "1"]),
    ({"image_size": 8}, ["DisentangleConfig.image_size", "[12, 64]", "8"]),
    ({"batch_size": 5000}, ["DisentangleConfig.batch_size", "5000"]),
])
def test_config_messages_name_field_rule_and_value(kwargs, words):
    with pytest.raises(ValueError) as err:
        DisentangleConfig(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_default_latents_are_twice_the_factors():
    cfg = DisentangleConfig()
    assert [cfg.latents(d) for d in cfg.datasets] == [8, 8, 8]
    assert DisentangleConfig(rolled_factors=6).latents("rolled") == 12


# ---------------------------------------------------------------- a tiny run


def test_tiny_run_has_table2s_shape_and_json_keys():
    res = _tiny()
    rows = res.table()
    # 3 codes x (mean over all, mean over the isometric two, each of 3 data sets)
    assert len(rows) == 15 and all(set(METRICS) <= set(r) for r in rows)
    assert [r["method"] for r in rows[:3]] == ["AE", "AE + ICA (k)", "AE + ICA (all, pruned)"]
    assert all(0 <= r["mcc"] <= 1 for r in rows)
    doc = json.loads(json.dumps(res.to_json_dict(), allow_nan=False))
    assert {"config", "table", "paper_table2", "verdicts", "methods", "datasets",
            "seconds"} <= set(doc)
    assert doc["paper_table2"][1] == {"scope": PAPER_TABLE2[1]["scope"], "method": "AE + ICA",
                                      "infom": 0.65, "infoe": 0.83, "infoc": 0.40}
    assert len(doc["verdicts"]) == 4 and all(v["passed"] in (True, False)
                                             for v in doc["verdicts"])
    shapes = doc["datasets"]["shapes"]
    assert shapes["n_latents"] == 8 and len(shapes["per_seed"]) == 2
    assert shapes["geometry"]["B_median"] >= 1.0
    assert doc["datasets"]["rolled"]["geometry"]["B_max"] == pytest.approx(1.0, abs=1e-9)
    assert res.datasets["rolled"].latents.shape == (2, round(0.2 * 512), 8)


def test_traversal_grids_decode_each_axis_before_and_after_ica():
    grids = traversal_grids(_tiny().datasets["shapes"], seed_index=1, steps=5)
    assert grids.before.shape == (8, 5, 16, 16)
    assert grids.ica_k.shape == (4, 5, 16, 16)
    assert grids.ica_all.shape[1:] == (5, 16, 16) and np.isfinite(grids.ica_all).all()
    with pytest.raises(ValueError, match="image data"):
        traversal_grids(_tiny().datasets["rolled"])


def test_progress_can_stop_the_study():
    seen = []

    def stop_at_second(p):
        seen.append(p.message)
        return len(seen) == 2

    with pytest.raises(DisentangleCancelled):
        run_disentangle(DisentangleConfig(datasets=("shapes",), seeds=1, epochs=1, n=256,
                                          batch_size=64), on_progress=stop_at_second)
    assert seen[0].startswith("shapes: training")


# ---------------------------------------------------------------- command line


@pytest.fixture
def cli(monkeypatch, capsys):
    """``python -m nearid_core`` with ``disentangle`` joined as the lead will register it."""
    build = entry.build_parser

    def parser():
        p = build()
        sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        add_disentangle_parser(sub)
        return p

    monkeypatch.setattr(entry, "build_parser", parser)
    monkeypatch.setitem(entry.COMMANDS, "disentangle", cmd_disentangle)

    def run(*args):
        code = entry.main(["disentangle", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_prints_both_tables_and_writes_json(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "home"))
    path = tmp_path / "t2.json"
    code, out, err = cli("--data", "shapes", "--seeds", "1", "--epochs", "1", "--n", "512",
                         "--json", str(path), "--quiet")
    assert code == 0, err
    assert "Table 2, ours" in out and "Table 2, paper" in out and "verdicts" in out
    assert "AE + ICA (k)" in out and "Shapes3D" in out
    doc = json.loads(path.read_text())
    assert doc["command"] == "disentangle" and doc["config"]["datasets"] == ["shapes"]
    # Stored as a finished study with the same table, and its traversal images.
    store = RunStore(tmp_path / "home")
    (row,) = store.list_sweeps(kind="disentangle")
    assert row["status"] == "done" and f"stored as study {row['id']}" in out
    assert row["analysis"]["table"] == doc["table"]
    grids = load_traversals(store, row["id"])
    assert grids["shapes_0_before"].shape == (8, 7, 16, 16)  # 2 x 4 latents, 7 steps
    assert grids["shapes_0_ica_k"].shape == (4, 7, 16, 16)  # one row per factor


def test_cli_no_save_stores_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "home"))
    code, out, err = cli("--data", "rolled", "--seeds", "1", "--epochs", "1", "--n", "512",
                         "--quiet", "--no-save")
    assert code == 0, err
    assert "stored as study" not in out and not (tmp_path / "home").exists()


@pytest.mark.parametrize("args, word", [
    (("--seeds", "0"), "--seeds"),
    (("--data", "shapes,faces"), "--data"),
    (("--levels", "1"), "levels"),
    (("--json", "out.txt"), "--json"),
])
def test_cli_bad_option_is_one_line_and_exit_2(cli, args, word):
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nearid: error:") and word in lines[0]


def test_axis_sweeps_move_one_axis_over_its_quantiles():
    from nearid_core.science.kernels import axis_sweeps

    coords = np.column_stack([np.arange(5.0), 10 * np.arange(5.0)])  # medians 2 and 20
    out = axis_sweeps(coords, np.array([0.0, 0.5, 1.0]))
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out[0], [[0, 20], [2, 20], [4, 20]])  # axis 0 moves
    np.testing.assert_array_equal(out[1], [[2, 0], [2, 20], [2, 40]])  # axis 1 moves
