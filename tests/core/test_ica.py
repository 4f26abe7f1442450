"""Known-answer tests for nearid_core.science.ica: recovery up to order and sign, loud non-convergence,
restarts that keep the best contrast."""

import json
import warnings

import numpy as np
import pytest
from scipy.integrate import quad
from sklearn.exceptions import ConvergenceWarning

from nearid_core.config import MAX_SEED
from nearid_core.science import ica as ica_module
from nearid_core.science.ica import (
    DISAGREE_AMARI,
    amari_index,
    fit_ica,
    logcosh_contrast,
    restart_seeds,
)
from nearid_core.science.ica_kernels import ResultCache
from nearid_core.science.metrics import mcc

ROT45 = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2)


@pytest.fixture
def no_cache(monkeypatch):
    """Refit on every call, so that determinism tests compare two real fits."""
    monkeypatch.setattr(ica_module, "_CACHE", ResultCache(size=0))


def _mixed(sources, rng):
    return sources @ (rng.normal(size=(sources.shape[1],) * 2) + 2 * np.eye(sources.shape[1]))


def test_recovers_linearly_mixed_laplace_sources():
    rng = np.random.default_rng(0)
    S = rng.laplace(size=(2000, 3))
    result = fit_ica(_mixed(S, rng), seed=0)
    assert result.converged and "converged" in result.message
    # Laplace sources are strongly non-Gaussian (excess kurtosis 3): with 2,000 rows the
    # estimation error of the unmixing is ~1/sqrt(n), so |corr| per source exceeds 0.99.
    assert mcc(result.sources, S).score > 0.99
    assert result.sources.shape == (2000, 3) and result.unmixing.shape == (3, 3)


def test_gaussian_sources_are_not_recovered():
    # The classic counter-example: any rotation of white Gaussian sources is just as
    # independent, so FastICA returns an arbitrary rotation. Over a few seeds the mean MCC
    # of Gaussian sources stays clearly below that of Laplace ones under the same mixing.
    gauss, laplace = [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        G, L = rng.normal(size=(2000, 2)), rng.laplace(size=(2000, 2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gauss.append(mcc(fit_ica(G @ ROT45, seed=seed).sources, G).score)
        laplace.append(mcc(fit_ica(L @ ROT45, seed=seed).sources, L).score)
    assert min(laplace) > 0.99
    # A uniformly random 2-D rotation by t has MCC = max(|cos t|, |sin t|), whose mean is
    # (4/pi) * sin(pi/4) = 2*sqrt(2)/pi ~ 0.90; 0.95 leaves room for six draws.
    assert np.mean(gauss) < 0.95
    assert np.mean(laplace) - np.mean(gauss) > 0.05


def test_non_convergence_is_recorded_and_warned():
    rng = np.random.default_rng(1)
    Z = _mixed(rng.laplace(size=(500, 4)), rng)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        result = fit_ica(Z, seed=0, max_iter=1)
    assert result.converged is False
    assert "did not converge" in result.message and result.n_iter == 1
    with pytest.warns(ConvergenceWarning, match="did not converge"):  # a cached fit too
        assert fit_ica(Z, seed=0, max_iter=1) is result


def test_cache_returns_exactly_a_refit(monkeypatch):
    _, X = _two_laplace()
    first = fit_ica(X, seed=3)
    assert fit_ica(X.copy(), seed=3) is first  # same rows and arguments: a hit
    assert fit_ica(X, seed=4) is not first and fit_ica(X, seed=3, tol=1e-5) is not first
    changed = X.copy()
    changed[0, 0] += 1e-12
    assert fit_ica(changed, seed=3) is not first
    with pytest.raises(ValueError, match="read-only"):
        first.unmixing[0, 0] = 0.0  # shared results cannot be changed by one caller
    monkeypatch.setattr(ica_module, "_CACHE", ResultCache(size=0))
    fresh = fit_ica(X, seed=3)
    assert fresh is not first and np.array_equal(fresh.sources, first.sources)
    assert fresh.restarts == first.restarts


def test_transform_reproduces_sources_and_seed_is_deterministic(no_cache):
    rng = np.random.default_rng(2)
    Z = _mixed(rng.laplace(size=(800, 3)), rng)
    a, b = fit_ica(Z, seed=5), fit_ica(Z, seed=5)
    assert np.array_equal(a.unmixing, b.unmixing)  # same seed, same arithmetic
    # transform is the same affine map FastICA applied: equal up to round-off.
    assert np.allclose(a.transform(Z), a.sources, atol=1e-10)
    assert np.allclose(a.mixing, np.linalg.pinv(a.unmixing), atol=1e-8)


def test_fewer_components():
    rng = np.random.default_rng(3)
    result = fit_ica(_mixed(rng.laplace(size=(600, 4)), rng), seed=0, n_components=2)
    assert result.sources.shape == (600, 2) and result.unmixing.shape == (2, 4)


@pytest.mark.parametrize(
    ("Z", "match"),
    [
        (np.column_stack([np.arange(100.0), np.ones(100)]), "constant columns"),
        (np.random.default_rng(0).normal(size=(5, 3)), "at least 2 \\* n_features"),
        (np.array([[np.nan, 1.0]] * 10), "finite"),
        (np.column_stack([np.arange(50.0), 2 * np.arange(50.0)]), "rank"),
        (np.arange(10.0), "2-D"),
    ],
)
def test_degenerate_inputs_raise(Z, match):
    with pytest.raises(ValueError, match=match):
        fit_ica(Z, seed=0)


def _rotation(t: float) -> np.ndarray:
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def _two_laplace():
    rng = np.random.default_rng(1)
    S = rng.laplace(size=(2000, 2))
    return S, S @ (np.random.default_rng(0).normal(size=(2, 2)) + 2 * np.eye(2))


def test_restarts_keep_the_best_contrast_where_one_start_stops_early():
    # Two Laplace sources: the 45-degree mixture is a fixed point of FastICA's iteration,
    # and a few random starts land on it (MCC ~0.71, far lower contrast). Search single
    # starts deterministically for one, then check the restarted fit from the same seed.
    S, X = _two_laplace()
    # Known answer for the best contrast: whiten, then scan every rotation of the plane
    # (the contrast is invariant to order and sign, so [0, pi/2) covers them all).
    Xc = X - X.mean(axis=0)
    evals, V = np.linalg.eigh(np.cov(Xc.T))
    white = Xc @ V / np.sqrt(evals)  # (n, 2), unit variance
    best = max(logcosh_contrast(white @ _rotation(t)) for t in np.linspace(0, np.pi / 2, 2001))
    bad = next(s for s in range(200) if fit_ica(X, seed=s, restarts=1).contrast < 0.5 * best)
    single = fit_ica(X, seed=bad, restarts=1)
    assert single.converged and mcc(single.sources, S).score < 0.8  # a real, converged trap
    result = fit_ica(X, seed=bad)
    assert result.restarts[0].seed == single.restarts[0].seed  # restart 0 is that start
    assert result.restarts[0].contrast == single.contrast
    # FastICA's fixed point maximises each E[G(y_k)], not the summed square exactly, and
    # the grid is finite: 2% of the contrast separates it from the trap (~30%) by far.
    assert result.contrast == max(r.contrast for r in result.restarts)
    assert abs(result.contrast - best) < 0.02 * best
    assert mcc(result.sources, S).score > 0.99  # recovered up to signed permutation
    # The trap sits 45 degrees from the kept unmixing: Amari index tan(45 deg) ~ 1.
    assert result.disagree and result.restarts[0].amari_to_kept > 0.9
    assert "restarts disagree" in result.message


def test_restarts_are_deterministic_bit_for_bit(no_cache):
    _, X = _two_laplace()
    a, b = fit_ica(X, seed=7), fit_ica(X, seed=7)
    assert np.array_equal(a.unmixing, b.unmixing) and np.array_equal(a.sources, b.sources)
    assert a.restarts == b.restarts and a.contrast == b.contrast
    assert fit_ica(X, seed=8).restarts[0].seed != a.restarts[0].seed


def test_agreeing_restarts_are_not_flagged():
    # Every start reaches the same optimum here (the trap needs an unlucky start): FastICA
    # with tol=1e-4 ends within ~1e-3 of it, far under the 0.05 tolerance.
    _, X = _two_laplace()
    result = fit_ica(X, seed=0)
    assert not result.disagree and len(result.restarts) == 4
    assert max(r.amari_to_kept for r in result.restarts) < DISAGREE_AMARI / 10
    summary = result.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["ica_restarts_converged"] == 4 and summary["ica_restarts_disagree"] is False


def test_any_seed_in_the_config_range_works():
    # Restart seeds derive through SeedSequence: a master seed of 10**15 (allowed by
    # SweepConfig) used to reach sklearn, which accepts only [0, 2**32).
    _, X = _two_laplace()
    assert fit_ica(X, seed=MAX_SEED).converged
    assert all(0 <= s < 2**32 for s in restart_seeds(MAX_SEED, 4))
    with pytest.raises(ValueError, match="restarts"):
        fit_ica(X, seed=0, restarts=0)


def test_logcosh_contrast_known_answers():
    gauss = quad(lambda y: np.log(np.cosh(y)) * np.exp(-y * y / 2) / np.sqrt(2 * np.pi),
                 -40, 40, epsabs=1e-14)[0]
    # Rademacher columns have unit variance and log cosh(+-1) = log cosh 1 exactly.
    signs = np.tile([[1.0, -1.0], [-1.0, 1.0]], (50, 1))
    assert logcosh_contrast(signs) == pytest.approx(2 * (np.log(np.cosh(1.0)) - gauss) ** 2,
                                                    rel=1e-10)
    # A Gaussian sample's contrast is sampling noise: O(var(log cosh)/n) ~ 1e-5 at n = 1e5.
    assert logcosh_contrast(np.random.default_rng(0).normal(size=(100_000, 2))) < 1e-4


def test_amari_index_known_answers():
    W = np.random.default_rng(0).normal(size=(3, 5))
    P = np.array([[0, -2.0, 0], [0, 0, 0.5], [3.0, 0, 0]])  # scaled signed permutation
    assert amari_index(P @ W, W) == pytest.approx(0.0, abs=1e-12)
    for t in (0.1, 0.3, np.pi / 4):  # a 2-D rotation by t <= 45 deg has index |tan t|
        assert amari_index(_rotation(t), np.eye(2)) == pytest.approx(np.tan(t), rel=1e-12)
