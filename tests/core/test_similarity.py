"""Known-answer tests for nearid_core.science.similarity (linear CKA, Procrustes angle)."""

import numpy as np
import pytest
from scipy.spatial import procrustes

from nearid_core.science.similarity import cka_and_angle, linear_cka, procrustes_angle

# Both indices are ratios of float64 sums over a few hundred rows: round-off ~1e-15
# relative, so 1e-10 is a wide margin that still catches any real formula slip.
CLOSE = 1e-10
# arccos(1 - e) ~ sqrt(2 e): a round-off e ~ 1e-15 in the nuclear norm moves an angle of 0
# by ~5e-8, so "angle 0" is checked to 1e-6.
ZERO_ANGLE = 1e-6


def _orthogonal(d, rng):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


@pytest.fixture
def rng():
    return np.random.default_rng(2021)


@pytest.fixture
def pair(rng):
    """Two related, non-identical clouds: generic CKA and angle, away from 0 and 1."""
    X = rng.normal(size=(300, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.2])
    Y = X @ rng.normal(size=(5, 4)) + rng.normal(size=(300, 4))
    return X, Y


def _hsic_cka(X, Y):
    """Kernel form with the centring matrix H (Kornblith et al. 2019, eq. 2), O(n^2)."""
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = H @ X @ X.T @ H, H @ Y @ Y.T @ H
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


def test_identical_inputs_give_cka_one_and_angle_zero(rng):
    X = rng.normal(size=(200, 6))
    assert linear_cka(X, X) == pytest.approx(1.0, abs=CLOSE)
    assert procrustes_angle(X, X) == pytest.approx(0.0, abs=ZERO_ANGLE)


def test_invariant_to_rotation_isotropic_scaling_and_translation(pair, rng):
    X, Y = pair
    Xt = 2.7 * X @ _orthogonal(5, rng) + rng.normal(size=5) * 10
    Yt = 0.3 * Y @ _orthogonal(4, rng) - 4.0
    assert linear_cka(Xt, Yt) == pytest.approx(linear_cka(X, Y), rel=CLOSE)
    assert procrustes_angle(Xt, Yt) == pytest.approx(procrustes_angle(X, Y), rel=CLOSE)
    # A rotated, scaled, shifted copy of X is the same shape.
    assert linear_cka(X, Xt) == pytest.approx(1.0, abs=CLOSE)
    assert procrustes_angle(X, Xt) == pytest.approx(0.0, abs=ZERO_ANGLE)


def test_not_invariant_to_a_general_linear_map(pair):
    X, Y = pair
    M = np.diag([0.1, 0.2, 1.0, 5.0, 20.0])  # invertible, strongly anisotropic
    # Reweighting the directions changes both: far beyond round-off (0.05 is arbitrary but
    # the anisotropy of M moves CKA by ~0.5 here).
    assert abs(linear_cka(X @ M, Y) - linear_cka(X, Y)) > 0.05
    assert abs(procrustes_angle(X @ M, Y) - procrustes_angle(X, Y)) > 0.05
    assert linear_cka(X, X @ M) < 0.99  # a linear copy is not "CKA-identical"


def test_independent_noise_gives_cka_near_zero_and_angle_near_right(rng):
    n, d = 20_000, 5
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    # E[CKA] ~ sqrt(d_x d_y) / n = 2.5e-4 for isotropic Gaussians (E||Y^T X||^2 = n d^2,
    # ||X^T X||_F ~ n sqrt(d)); its spread is of the same order, so 10x is a safe bound.
    assert linear_cka(X, Y) < 10 * d / n
    # cos(angle) ~ 0.85 sqrt(d / n) = 0.013 (mean singular value of a d x d Gaussian); 0.1
    # rad below pi/2 allows for ~7 times that.
    assert procrustes_angle(X, Y) > np.pi / 2 - 0.1


def test_symmetric_in_arguments(pair):
    X, Y = pair
    assert linear_cka(X, Y) == pytest.approx(linear_cka(Y, X), rel=CLOSE)
    assert procrustes_angle(X, Y) == pytest.approx(procrustes_angle(Y, X), rel=CLOSE)


def test_cka_matches_kernel_form_hsic(pair):
    X, Y = pair
    assert linear_cka(X, Y) == pytest.approx(_hsic_cka(X, Y), rel=CLOSE)
    assert linear_cka(X[:, :3], Y) == pytest.approx(_hsic_cka(X[:, :3], Y), rel=CLOSE)


def test_angle_matches_scipy_procrustes_disparity(rng):
    X = rng.normal(size=(150, 4))
    Y = X @ rng.normal(size=(4, 4)) + rng.normal(size=(150, 4))
    _, _, disparity = procrustes(X, Y)  # = 1 - (nuclear norm)^2 for standardised inputs
    expected = np.arccos(np.sqrt(1 - disparity))
    # arccos has slope ~1.2 at this angle: round-off stays ~1e-15; 1e-9 is generous.
    assert procrustes_angle(X, Y) == pytest.approx(expected, abs=1e-9)


def test_angle_zero_pads_the_narrower_input(pair):
    X, Y = pair  # widths 5 and 4
    padded = np.hstack([Y, np.zeros((Y.shape[0], 1))])
    assert procrustes_angle(X, Y) == pytest.approx(procrustes_angle(X, padded), rel=CLOSE)
    assert 0.0 <= procrustes_angle(X, Y) <= np.pi / 2


def test_shared_computation_gives_the_same_numbers(pair):
    X, Y = pair
    cka, angle = cka_and_angle(X, Y)
    assert cka == linear_cka(X, Y) and angle == procrustes_angle(X, Y)


def test_constant_input_gives_nan_and_bad_shapes_raise(rng):
    X = rng.normal(size=(50, 3))
    assert np.isnan(linear_cka(X, np.ones((50, 2))))
    assert np.isnan(procrustes_angle(np.ones((50, 2)), X))
    with pytest.raises(ValueError, match="same number of rows"):
        linear_cka(X, X[:40])
    with pytest.raises(ValueError, match="finite"):
        procrustes_angle(X, np.full((50, 3), np.nan))
