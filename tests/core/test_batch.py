"""ICA against batch effects (PAPER.md §5, Tables 3–4): known answers of the kernels, the
synthetic screen, fits on training batches only, and the ``batch`` command."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning

from nearid_core.cli import Parser, UsageError
from nearid_core.commands import batch as cmd
from nearid_core.runs.store import RunStore
from nearid_core.runs.study_jobs import BATCH_DEFAULTS
from nearid_core.science import batch_metrics as bm
from nearid_core.science.batch_data import ScreenConfig, embed_factors, make_screen
from nearid_core.studies import batch as study
from nearid_core.studies.batch import BatchCancelled, BatchConfig, run_batch

# A tiny screen: 2 perturbations, 4 batches (2 held out), 25 wells, 5 latent factors; the
# Laplace nuisance keeps FastICA converging quickly, and effects of 1.5 sd keep the L1 probe
# from shrinking to a constant. A run takes a fraction of a second.
TINY_SCREEN = ScreenConfig(perturbations=2, batches=4, wells=25, k_bio=3, k_nuis=2, d_x=12,
                           effect=1.5, nuisance="laplace")
TINY = BatchConfig(screen=TINY_SCREEN)


@pytest.fixture(autouse=True)
def _quiet_ica():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded in fit, checked apart
        yield


# ---------------------------------------------------------------- kernels: known answers


def test_hoyer_one_hot_is_one_flat_is_zero_and_a_hand_computed_middle():
    assert bm.hoyer_sparsity([0, 0, 3.0, 0]) == pytest.approx(1.0, abs=1e-12)
    assert bm.hoyer_sparsity([2.0, -2.0, 2.0, 2.0]) == pytest.approx(0.0, abs=1e-12)
    # [1, 1, 0, 0]: ‖v‖₁ = 2, ‖v‖₂ = √2, √n = 2, so (2 − √2) / (2 − 1) = 2 − √2.
    assert bm.hoyer_sparsity([1.0, 1.0, 0.0, 0.0]) == pytest.approx(2 - math.sqrt(2), abs=1e-12)
    v = np.array([0.3, -1.2, 0.05, 2.0])
    assert bm.hoyer_sparsity(-7 * v) == pytest.approx(bm.hoyer_sparsity(v), abs=1e-12)


@pytest.mark.parametrize("bad", [[1.0], [0.0, 0.0], [np.nan, 1.0]])
def test_hoyer_refuses_what_it_cannot_score(bad):
    with pytest.raises(ValueError):
        bm.hoyer_sparsity(bad)


def test_top_share_of_known_spectra():
    # Squares 16, 9, 4, 1 (total 30): the top quarter is one feature, 16 / 30.
    assert bm.top_share([4.0, -3.0, 2.0, 1.0]) == pytest.approx(16 / 30, abs=1e-12)
    # 1..8: the top quarter is {8, 7}: (64 + 49) / Σ k² = 113 / 204.
    assert bm.top_share(np.arange(1.0, 9.0)) == pytest.approx(113 / 204, abs=1e-12)
    assert bm.top_share(np.ones(16)) == pytest.approx(0.25, abs=1e-12)  # flat: the floor
    assert bm.top_share(np.ones(10), q=0.25) == pytest.approx(3 / 10)  # ceil(2.5) = 3
    assert bm.top_share([0, 0, 5.0, 0, 0]) == 1.0
    with pytest.raises(ValueError, match="q must be in"):
        bm.top_share([1.0, 2.0], q=0.0)
    with pytest.raises(ValueError, match="not all zero"):
        bm.top_share([0.0, 0.0])


def test_heldout_auroc_is_one_for_separable_classes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    X = rng.normal(size=(200, 3))
    X[:, 0] += np.where(y == 1, 8.0, -8.0)  # 16 standard deviations apart: no overlap
    X2 = rng.normal(size=(200, 3))
    X2[:, 0] += np.where(y == 1, 8.0, -8.0)
    assert bm.heldout_auroc(X, y, X2, y, seed=0) == 1.0


def test_heldout_auroc_is_about_half_for_identical_classes():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 1000)
    train, test = rng.laplace(size=(2000, 4)), rng.laplace(size=(2000, 4))
    # Under no signal the AUROC of any fixed score has sd sqrt((n0 + n1 + 1) / (12 n0 n1))
    # = 0.013 for 1000 + 1000 rows; 0.06 is over 4 sd (and a probe shrunk to a constant
    # score gives exactly 0.5).
    assert abs(bm.heldout_auroc(train, y, test, y, seed=0) - 0.5) < 0.06
    with pytest.raises(ValueError, match="same two classes"):
        bm.heldout_auroc(train, y, test, np.zeros(2000), seed=0)


def test_standardised_effect_of_a_known_shift():
    z = np.array([[0.0, 1.0], [2.0, 3.0], [5.0, 2.0], [7.0, 4.0]])
    label = np.array([0, 0, 1, 1])
    # controls: means (1, 2), sds (√2, √2); perturbed means (6, 3).
    np.testing.assert_allclose(bm.standardised_effect(z, label, 1),
                               [5 / math.sqrt(2), 1 / math.sqrt(2)])


# ---------------------------------------------------------------- the post-processings


@pytest.fixture(scope="module")
def fitted():
    screen = make_screen(dataclasses.replace(TINY_SCREEN, wells=30))
    train = screen.batch < 2
    post = bm.fit_postprocessing(screen.X[train], n_components=5, seed=3)
    return screen, train, post


def test_pca_whitening_gives_identity_covariance_on_training_rows(fitted):
    screen, train, post = fitted
    white = post.transform(screen.X[train])["pca"]  # (n_train, 5)
    np.testing.assert_allclose(np.cov(white.T), np.eye(5), atol=1e-10)  # round-off only


def test_pca_rand_equals_pca_up_to_an_orthogonal_map(fitted):
    screen, _, post = fitted
    views = post.transform(screen.X)
    np.testing.assert_allclose(post.rotation.T @ post.rotation, np.eye(5), atol=1e-12)
    q, _ = orthogonal_procrustes(views["pca"], views["pca_rand"])
    residual = np.linalg.norm(views["pca"] @ q - views["pca_rand"]) / np.linalg.norm(
        views["pca_rand"])
    assert residual < 1e-10  # an exact rotation: only float64 round-off remains


def test_ica_on_the_whitened_screen_recovers_the_biological_factors():
    # Strong shifts are off, and the map is linear: the Laplace factors are ICA's to find.
    cfg = dataclasses.replace(TINY_SCREEN, wells=60, bend=0.0, strength=0.3, noise=0.01)
    screen = make_screen(cfg)
    post = bm.fit_postprocessing(screen.X, n_components=5, seed=0)
    ica = post.transform(screen.X)["pca_ica"]
    corr = np.abs(np.corrcoef(screen.bio.T, ica.T)[:3, 3:])  # (k_bio, 5)
    rows, cols = linear_sum_assignment(-corr)
    # 4 * 3 * 60 = 720 rows: a recovered factor correlates ~0.99 (estimation error ~1/sqrt(n)); the
    # perturbation shifts make the factors only nearly independent, hence 0.9.
    assert corr[rows, cols].min() > 0.9
    assert post.summary()["ica_converged"]


# ---------------------------------------------------------------- the screen


def test_screen_shapes_design_and_sparse_effects():
    s = make_screen(TINY_SCREEN)
    n = 4 * 3 * 25
    assert s.X.shape == (n, 12) and s.bio.shape == (n, 3) and s.nuis.shape == (n, 2)
    assert s.batch.shape == s.label.shape == (n,)
    counts = np.bincount(s.batch * 3 + s.label)  # balanced: 25 per (batch, condition)
    assert counts.tolist() == [25] * 12
    moved = (s.effects != 0).sum(axis=1)
    assert ((moved >= 1) & (moved <= TINY_SCREEN.max_moved)).all()
    assert set(np.abs(s.effects[s.effects != 0])) == {TINY_SCREEN.effect}
    again = make_screen(TINY_SCREEN)
    np.testing.assert_array_equal(s.X, again.X)  # deterministic per seed


def test_batch_effects_touch_only_the_nuisance():
    calm = make_screen(dataclasses.replace(TINY_SCREEN, strength=0.0))
    rough = make_screen(dataclasses.replace(TINY_SCREEN, strength=2.0))
    np.testing.assert_array_equal(calm.bio, rough.bio)
    assert not np.allclose(calm.nuis, rough.nuis)


def test_the_rolled_embedding_is_a_local_isometry():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(10, 6)))  # (d_x, 2k) orthonormal columns
    u = rng.normal(size=(5, 3))
    flat = embed_factors(u, q, 0.0)
    np.testing.assert_allclose(np.linalg.norm(flat[0] - flat[1]), np.linalg.norm(u[0] - u[1]))
    h = 1e-6  # central differences: error O(h²) ≪ 1e-6
    jac = np.stack([(embed_factors(u[:1] + h * e, q, 0.3) - embed_factors(u[:1] - h * e, q, 0.3))
                    [0] / (2 * h) for e in np.eye(3)], axis=1)  # (d_x, k)
    np.testing.assert_allclose(jac.T @ jac, np.eye(3), atol=1e-6)


@pytest.mark.parametrize("kwargs, words", [
    ({"perturbations": 0}, ["ScreenConfig.perturbations", "[1, 100]", "0"]),
    ({"batches": 1}, ["ScreenConfig.batches", "[2, 100]", "1"]),
    ({"d_x": 20}, ["ScreenConfig.d_x", "2 * (k_bio + k_nuis) = 32", "20"]),
    ({"max_moved": 9}, ["ScreenConfig.max_moved", "[1, 8]", "9"]),
    ({"strength": -1.0}, ["ScreenConfig.strength", ">= 0.0", "-1.0"]),
    ({"noise": float("nan")}, ["ScreenConfig.noise", "finite", "nan"]),
    ({"nuisance": "cauchy"}, ["ScreenConfig.nuisance", "one of", "'cauchy'"]),
])
def test_screen_config_messages_name_field_rule_and_value(kwargs, words):
    with pytest.raises(ValueError) as err:
        ScreenConfig(**kwargs)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"embedding": "vae"}, ["BatchConfig.embedding", "one of", "'vae'"]),
    ({"held_out": (0, 1, 2, 3, 4, 5)}, ["BatchConfig.held_out", "training batch"]),
    ({"held_out": (6,)}, ["BatchConfig.held_out", "[0, 5]", "(6,)"]),
    ({"held_out": (4, 4)}, ["BatchConfig.held_out", "distinct"]),
    ({"components": 65}, ["BatchConfig.components", "[1, 64]", "65"]),
    ({"embedding": "autoencoder", "components": 17}, ["BatchConfig.components", "[1, 16]"]),
    ({"C": 0.0}, ["BatchConfig.C", "> 0.0", "0.0"]),
    ({"embedding": "autoencoder", "ae_width": 8}, ["BatchConfig.ae_width", "[16, 64]", "8"]),
])
def test_batch_config_messages_name_field_rule_and_value(kwargs, words):
    with pytest.raises(ValueError) as err:
        BatchConfig(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_batch_config_holds_out_the_last_two_batches_by_default():
    assert BatchConfig().held_out == (4, 5) and BatchConfig().components == 16
    assert BatchConfig(held_out=[1]).held_out == (1,)
    assert BatchConfig(screen=ScreenConfig(batches=2)).held_out == (1,)  # one left to train


# ---------------------------------------------------------------- the study


def test_run_batch_gives_one_row_per_perturbation_and_json():
    res = run_batch(TINY)
    assert len(res.rows) == TINY_SCREEN.perturbations
    keys = {f"{m}_{c}" for m in study.METRICS for c in bm.CONDITIONS}
    for row in res.rows:
        assert keys <= set(row) and row["moved"]
        assert all(0.0 <= row[k] <= 1.0 for k in keys)
    assert set(res.means) == set(bm.CONDITIONS)
    assert res.fit["components"] == 5
    doc = json.loads(json.dumps(res.to_json_dict(), allow_nan=False))
    assert {"config", "rows", "means", "fit", "paper"} <= set(doc)
    assert doc["paper"]["auroc_eif3h"]["pca_ica"] == 0.749  # the paper's number, verbatim


def test_fits_see_training_batches_only(monkeypatch):
    """Scrambling the held-out batches changes the AUROCs but no fitted transform and no
    training-batch effect."""
    real = make_screen(TINY_SCREEN)
    held = np.isin(real.batch, TINY.held_out)
    x = real.X.copy()
    x[held] = np.random.default_rng(9).normal(size=(held.sum(), x.shape[1]))
    monkeypatch.setattr(study, "make_screen", lambda cfg: dataclasses.replace(real, X=x))
    scrambled = run_batch(TINY)
    monkeypatch.setattr(study, "make_screen", lambda cfg: real)
    clean = run_batch(TINY)
    # PCA and ICA records all equal (fit_ica caches by a hash of its input: a hit, too,
    # means the ICA saw identical rows).
    assert scrambled.fit == clean.fit
    for a, b in zip(scrambled.rows, clean.rows, strict=True):
        for c in bm.CONDITIONS:
            assert a[f"hoyer_{c}"] == b[f"hoyer_{c}"] and a[f"top25_{c}"] == b[f"top25_{c}"]
    assert any(a["auroc_base"] != b["auroc_base"]
               for a, b in zip(scrambled.rows, clean.rows, strict=True))


def test_progress_reports_and_cancels():
    seen = []
    run_batch(TINY, on_progress=lambda p: seen.append(p.fraction))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(BatchCancelled):
        run_batch(TINY, on_progress=lambda p: p.fraction > 0.3)


def test_paired_difference_and_strength_sweep_on_a_tiny_screen():
    paired = study.paired_difference(TINY, 2)
    assert [r.config.screen.seed for r in paired.results] == [0, 1]
    for m in study.METRICS:
        d = paired.difference[m]
        assert d["lo"] <= d["mean"] <= d["hi"] and len(d["per_seed"]) == 2
        want = np.mean([r.means["pca_ica"][m] - r.means["pca_rand"][m] for r in paired.results])
        assert d["mean"] == pytest.approx(want)
    json.dumps(paired.to_json_dict(), allow_nan=False)
    rows = study.strength_sweep(TINY, [0.0, 2.0], seeds=2)
    assert [r["strength"] for r in rows] == [0.0, 2.0] and "top25_diff" in rows[0]


def test_autoencoder_embedding_runs_on_training_batches():
    cfg = dataclasses.replace(TINY, embedding="autoencoder", ae_width=8, ae_epochs=2)
    res = run_batch(cfg)
    assert len(res.rows) == 2 and math.isfinite(res.ae_loss) and res.fit["components"] == 5


# ---------------------------------------------------------------- the command


def _parser() -> Parser:
    p = Parser(prog="nearid")
    cmd.add_batch_parser(p.add_subparsers(dest="command", parser_class=Parser))
    return p


TINY_ARGS = ["batch", "--perturbations", "2", "--batches", "3", "--held-out", "1",
             "--wells", "8", "--seeds", "2", "--quiet"]


def test_cli_writes_the_tables_and_the_paired_difference(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "home"))
    out = tmp_path / "b.json"
    args = _parser().parse_args([*TINY_ARGS, "--json", str(out), "--strengths", "0,2",
                                 "--strength-seeds", "2", "--name", "tiny"])
    assert cmd.cmd_batch(args) == 0
    text = capsys.readouterr().out
    assert "paper EIF3H" in text and "0.749" in text and "PCA + Rand" in text
    assert "batch-strength sweep" in text and "stored as study" in text
    doc = json.loads(out.read_text())
    assert {"command", "first_screen", "paired_difference", "paper", "definitions",
            "strength_sweep"} <= set(doc)
    assert set(doc["paired_difference"]["difference"]) == set(study.METRICS)
    assert len(doc["first_screen"]["rows"]) == 2
    assert [r["strength"] for r in doc["strength_sweep"]] == [0.0, 2.0]
    # The run store holds the same numbers, as a finished batch study.
    (row,) = RunStore(tmp_path / "home").list_sweeps(kind="batch")
    assert row["status"] == "done" and row["name"] == "tiny"
    assert row["analysis"]["paired_difference"] == doc["paired_difference"]
    assert row["analysis"]["strength_sweep"] == doc["strength_sweep"]


def test_cli_no_save_leaves_no_store_and_refuses_a_strength_sweep(tmp_path, monkeypatch):
    monkeypatch.setenv("NEARID_HOME", str(tmp_path / "home"))
    args = _parser().parse_args([*TINY_ARGS, "--no-save"])
    with pytest.raises(UsageError, match="--strengths none"):
        cmd.cmd_batch(args)
    args = _parser().parse_args([*TINY_ARGS, "--no-save", "--strengths", "none"])
    assert cmd.cmd_batch(args) == 0
    assert not (tmp_path / "home").exists()


def test_cli_bad_option_is_one_line_and_exit_code_2(capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["batch", "--strength", "-3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("nearid: error: ")


def test_cli_refuses_bad_settings_and_outputs_before_any_work(tmp_path):
    args = _parser().parse_args(["batch", "--batches", "2", "--held-out", "2"])
    with pytest.raises(UsageError, match="--held-out must be below --batches=2"):
        cmd.cmd_batch(args)
    args = _parser().parse_args(["batch", "--json", str(tmp_path / "x.txt")])
    with pytest.raises(UsageError, match="must end in .json"):
        cmd.cmd_batch(args)


def test_cli_defaults_are_the_screen_defaults():
    defaults = _parser().parse_args(["batch"])
    for name in cmd._SCREEN_DEFAULTS:
        assert getattr(defaults, name) == getattr(ScreenConfig(), name)
    assert defaults.strengths == BATCH_DEFAULTS["strengths"]
    assert defaults.strength_seeds == BATCH_DEFAULTS["strength_seeds"]
    assert defaults.seeds == BATCH_DEFAULTS["seeds"]
