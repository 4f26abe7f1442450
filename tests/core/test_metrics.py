"""Known-answer tests for nearid_core.metrics (MCC, weak MCC, InfoMEC, DCI)."""

import numpy as np
import pytest

from nearid_core.alignment import split_fit_eval
from nearid_core.infomec import bin_factors
from nearid_core.metrics import dci, disentanglement_scores, infomec, mcc, weak_mcc

ROT45 = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2)


@pytest.fixture
def u():
    return np.random.default_rng(7).uniform(size=(3000, 3))


def test_mcc_is_one_under_signed_permutation_and_scaling(u):
    z = u[:, [1, 2, 0]] * np.array([3.0, -0.5, -2.0]) + 4.0
    result = mcc(z, u)
    assert result.score == pytest.approx(1.0, abs=1e-12)  # exact affine copies: round-off
    assert result.pairs.tolist() == [[2, 0], [0, 1], [1, 2]]
    assert np.sign(result.corr[result.pairs[:, 0], result.pairs[:, 1]]).tolist() == [-1, 1, -1]


def test_mcc_out_of_sample_and_spearman(u):
    fit, ev = split_fit_eval(len(u), seed=0)
    z = np.exp(3 * u[:, ::-1])  # monotone, non-linear
    spearman = mcc(z, u, method="spearman", fit_idx=fit, eval_idx=ev)
    assert spearman.out_of_sample and spearman.score == pytest.approx(1.0, abs=1e-12)
    assert mcc(z, u, fit_idx=fit, eval_idx=ev).score < 0.99  # Pearson sees the curvature


def test_mcc_of_independent_data_is_near_zero():
    rng = np.random.default_rng(0)
    # |corr| of independent columns is ~ N(0, 1/n) in size: 1/sqrt(5000) ~ 0.014, and the
    # max over 3x3 Hungarian choices stays far below 0.1.
    assert mcc(rng.normal(size=(5000, 3)), rng.uniform(size=(5000, 3))).score < 0.1


def test_mcc_rectangular(u):
    rng = np.random.default_rng(1)
    wide = np.column_stack([rng.normal(size=len(u)), u[:, 2], u[:, 0], rng.normal(size=len(u)), u[:, 1]])
    result = mcc(wide, u)
    assert result.score == pytest.approx(1.0, abs=1e-12)
    assert result.pairs.tolist() == [[2, 0], [4, 1], [1, 2]]
    narrow = mcc(u[:, [1, 0]], u)
    assert narrow.score == pytest.approx(1.0, abs=1e-12) and np.isnan(narrow.per_factor[2])


def test_weak_mcc_is_one_under_invertible_linear_map(u):
    M = np.random.default_rng(2).normal(size=(3, 3)) + 2 * np.eye(3)
    fit, ev = split_fit_eval(len(u), seed=0)
    # CCA runs NIPALS to tol=1e-6; exact linear relations give canonical correlations of 1.
    assert weak_mcc(u @ M, u, fit_idx=fit, eval_idx=ev).score == pytest.approx(1.0, abs=1e-6)
    assert mcc(u @ M, u).score < 0.99  # a generic linear map is not a signed permutation


def test_infomec_disentangled_vs_rotated(u):
    good = infomec(u, u, seed=0)
    # k-NN MI of a variable with its own bins is close to H(v); the off-diagonal MI of
    # independent columns is ~0, so the peakedness of each row is close to 1.
    assert good.infom > 0.9 and good.infoc > 0.9 and good.active.all()
    # With logistic regression on 1,000 rows, 20 sharp bins are learned to ~90% of H(v).
    assert good.infoe > 0.85
    rotated = infomec(u[:, :2] @ ROT45, u[:, :2], seed=0)
    # A 45 degree rotation gives each latent equal information on both factors: NMI rows
    # are near uniform, so modularity and compactness fall towards 0.
    assert rotated.infom < 0.6 and rotated.infoc < 0.6
    assert rotated.infoe > 0.8  # still fully informative, just not axis-aligned
    assert good.n_bins == 20 and good.n_rows == 2000 and good.nmi.shape == (3, 3)


def test_infoe_of_noise_is_near_zero(u):
    noise = np.random.default_rng(3).normal(size=u.shape)
    # A held-out log-loss of a classifier on independent inputs cannot beat the prior
    # except by overfitting noise, which at C=1e4 and 1,000 rows stays within a few %.
    assert abs(infomec(noise, u, seed=0).infoe) < 0.1


def test_inactive_latent_is_excluded(u):
    z = np.column_stack([u, 1e-4 * np.random.default_rng(4).normal(size=len(u))])
    assert infomec(z, u, seed=0).active.tolist() == [True, True, True, False]


def test_bin_factors_equal_count_and_discrete():
    x = np.arange(100.0)[:, None]
    assert np.bincount(bin_factors(x, n_bins=4)[:, 0]).tolist() == [25, 25, 25, 25]
    assert bin_factors(np.array([[3.0], [7.0], [3.0]]), n_bins=4)[:, 0].tolist() == [0, 1, 0]


def test_dci_disentangled_vs_rotated(u):
    good = dci(u, u, seed=0)
    # Lasso on an exact copy selects the diagonal only (off-diagonal coefs are spurious
    # correlations ~0.02 < alpha-scaled noise), so D and C are 1 up to tiny leakage.
    assert good.disentanglement > 0.95 and good.completeness > 0.95
    assert good.informativeness > 0.99  # R^2 of an exact linear relation, shrunk by 1%
    rotated = dci(u[:, :2] @ ROT45, u[:, :2], seed=0)
    # Each latent has equal importance for both factors: entropy 1 bit, D and C near 0.
    assert rotated.disentanglement < 0.6 and rotated.completeness < 0.6
    assert good.importance.shape == (3, 3)


def test_disentanglement_scores_keys(u):
    scores = disentanglement_scores(u[:1000], u[:1000], seed=0)
    expected = {"mcc", "mcc_spearman", "weak_mcc", "infom", "infoe", "infoc",
                "dci_d", "dci_c", "dci_i"}
    assert set(scores) == expected and all(isinstance(v, float) for v in scores.values())
    assert scores["mcc"] == pytest.approx(1.0, abs=1e-12)


def test_invalid_inputs_raise_clear_errors(u):
    with pytest.raises(ValueError, match=r"z and u must hold the same inputs"):
        mcc(u[:10], u)
    with pytest.raises(ValueError, match="method must be one of"):
        mcc(u, u, method="kendall")
    with pytest.raises(ValueError, match="given together"):
        mcc(u, u, fit_idx=np.arange(10))
    with pytest.raises(ValueError, match="constant factors"):
        infomec(u, np.column_stack([u[:, 0], np.ones(len(u))]))
    with pytest.raises(ValueError, match="alpha must be > 0"):
        dci(u, u, alpha=0.0)
