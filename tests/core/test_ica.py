"""Known-answer tests for nearid_core.ica: recovery up to order and sign, loud non-convergence."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from nearid_core.ica import fit_ica
from nearid_core.metrics import mcc

ROT45 = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2)


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


def test_transform_reproduces_sources_and_seed_is_deterministic():
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
