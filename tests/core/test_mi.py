"""Tests for nearid_core.science.mi: bit-identical to sklearn's ``mutual_info_classif`` on
hard random inputs, known answers, input validation."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import digamma
from scipy.stats import norm
from sklearn.feature_selection import mutual_info_classif

from nearid_core.science import mi as mi_module
from nearid_core.science.mi import mutual_info_cd, mutual_info_cd_many

KINDS = ("normal", "rounded", "constant", "tiny", "huge", "rounded_exponential")
N_CASES = 200


def _column(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(size=n) * rng.choice([1.0, 5.0]) + rng.normal()
    if kind == "rounded":  # heavy ties: about 40 distinct values
        return np.round(x, 1)
    if kind == "constant":
        return np.full(n, rng.normal())
    if kind == "tiny":
        return x * 1e-6
    if kind == "huge":
        return x * 1e6
    if kind == "rounded_exponential":  # a few distinct values, most rows tied
        return np.round(rng.exponential(size=n) * 3)
    return x


def _labels(seed: int, x: np.ndarray, n_labels: int, rng: np.random.Generator) -> np.ndarray:
    """Skewed label frequencies (several labels with fewer than k + 1 members)."""
    y = rng.choice(n_labels, size=x.size, p=rng.dirichlet(np.full(n_labels, 0.3)))
    if seed % 2:  # half the rows labelled by rank of x: MI well above 0
        ranked = (np.argsort(np.argsort(x)) * n_labels) // x.size
        y = np.where(rng.random(x.size) < 0.5, ranked, y)
    if seed % 3 == 0:  # three labels with a single member each (sklearn drops them)
        y[:3] = n_labels + np.arange(3)
    if seed % 5 == 0:  # a label with two members
        y[3:5] = n_labels + 5
    return y


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 201)) if seed % 4 == 0 else int(rng.integers(20, 2501))
    d = int(rng.integers(1, 5))
    X = np.column_stack([_column(KINDS[(seed + j) % len(KINDS)], n, rng) for j in range(d)])
    y = _labels(seed, X[:, 0], int(rng.integers(2, 26)), rng)
    return X, y, (1, 3, 10)[(seed // 2) % 3]


def _sklearn(X, y, k, seed):
    return mutual_info_classif(X, y, discrete_features=False, n_neighbors=k,
                               random_state=seed)


@pytest.mark.parametrize("seed", range(N_CASES))
def test_bit_identical_to_sklearn(seed):
    # Exact: the noisy inputs are sklearn's own, and every distance comparison is
    # replayed with sklearn's arithmetic (see the module docstring).
    X, y, k = _case(seed)
    np.testing.assert_array_equal(mutual_info_cd(X, y, n_neighbors=k, random_state=seed),
                                  _sklearn(X, y, k, seed))


def test_random_cases_cover_the_hard_inputs():
    """The cases above exercise every column kind, both of sklearn's neighbour searches,
    labels sklearn drops and labels with fewer than k + 1 members, all three k."""
    kinds, ks, flags = set(), set(), set()
    for seed in range(N_CASES):
        X, y, k = _case(seed)
        kinds |= {KINDS[(seed + j) % len(KINDS)] for j in range(X.shape[1])}
        ks.add(k)
        counts = np.unique(y, return_counts=True)[1]
        k_label = np.minimum(k, counts - 1)
        flags |= {"single"} if np.any(counts == 1) else set()
        flags |= {"fewer than k+1"} if np.any((counts > 1) & (counts < k + 1)) else set()
        flags |= {"brute"} if np.any((counts > 1) & (k_label >= counts // 2)) else set()
        flags |= {"tree"} if np.any((counts > 1) & (k_label < counts // 2)) else set()
        flags |= {"small n"} if X.shape[0] < 50 else set()
        flags |= {"large n"} if X.shape[0] > 2400 else set()
    assert kinds == set(KINDS)
    assert ks == {1, 3, 10}
    assert flags == {"single", "fewer than k+1", "brute", "tree", "small n", "large n"}


def test_many_equals_one_call_per_label_column():
    X, y, _ = _case(7)
    rng = np.random.default_rng(1)
    Y = np.column_stack([y, rng.integers(0, 4, y.size), y % 3])
    many = mutual_info_cd_many(X, Y, n_neighbors=3, random_state=11)
    assert many.shape == (3, X.shape[1]) and many.dtype == np.float64
    for i in range(3):
        np.testing.assert_array_equal(many[i], _sklearn(X, Y[:, i], 3, 11))


def test_blocks_of_pairs_give_the_same_numbers(monkeypatch):
    X, y, _ = _case(9)
    Y = np.column_stack([y, y % 2])
    whole = mutual_info_cd_many(X, Y, n_neighbors=10, random_state=0)
    monkeypatch.setattr(mi_module, "_MAX_ELEMENTS", 1)  # one (feature, labels) pair a block
    np.testing.assert_array_equal(mutual_info_cd_many(X, Y, n_neighbors=10, random_state=0),
                                  whole)


def test_random_state_instance_draws_the_noise_once():
    X, y, _ = _case(3)
    Y = np.column_stack([y, y % 2])
    from_int = mutual_info_cd_many(X, Y, n_neighbors=3, random_state=5)
    from_state = mutual_info_cd_many(X, Y, n_neighbors=3,
                                     random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(from_state, from_int)


def test_string_labels_and_small_labels_on_a_constant_column():
    # A constant column is noise only (1e-10): the brute-force search of small labels is
    # then decided by GEMM rounding, which is replayed, not approximated.
    rng = np.random.default_rng(4)
    X = np.column_stack([np.full(60, 3.0), rng.normal(size=60)])
    y = np.array(list("abcdefghijkl"))[rng.integers(0, 12, 60)]
    for k in (1, 3, 10):
        np.testing.assert_array_equal(mutual_info_cd(X, y, n_neighbors=k, random_state=2),
                                      _sklearn(X, y, k, 2))


def test_edge_search_recovers_from_any_guess():
    # The counting step starts from searchsorted's guess; from a bad guess (here: random)
    # the checks and the bisection must still land on the exact edge.
    rng = np.random.default_rng(0)
    s = np.sort(np.round(rng.normal(size=(3, 300)), 2), axis=1)  # (3, 300), ties
    r = rng.uniform(0, 0.5, size=s.shape)
    guess = rng.integers(0, 301, size=s.shape)
    upto = mi_module._leading_true(s, r, mi_module._within_above, guess.copy())
    below = mi_module._leading_true(s, r, mi_module._beyond_below, guess.copy())
    np.testing.assert_array_equal(upto, ((s[:, None, :] - s[:, :, None]) <= r[..., None]).sum(2))
    np.testing.assert_array_equal(below, ((s[:, :, None] - s[:, None, :]) > r[..., None]).sum(2))


def test_independent_features_carry_no_information():
    # n = 2000, k = 3: over 20 seeds the estimate stayed below 0.03 (mean 0.005).
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(2000, 2)), rng.integers(0, 5, 2000)
    assert np.all(mutual_info_cd(X, y, n_neighbors=3, random_state=0) < 0.05)


@pytest.mark.parametrize("n_labels", [2, 5, 10])
def test_separated_labels_carry_their_entropy(n_labels):
    # Each label a tight cluster: every radius holds only its own label, m = k, so the
    # estimate is psi(n) - psi(n / L) = log L + O(L / n) (to rounding).
    y = np.repeat(np.arange(n_labels), 2000 // n_labels)
    X = (y + 1e-6 * np.random.default_rng(0).normal(size=y.size))[:, None]
    mi = mutual_info_cd(X, y, n_neighbors=3, random_state=0)[0]
    assert mi == pytest.approx(digamma(y.size) - digamma(y.size / n_labels), rel=1e-12)
    assert mi == pytest.approx(np.log(n_labels), abs=0.003)


def test_gaussian_mixture_matches_the_integral():
    # y = +-1 equiprobable, x | y ~ N(y, 1): I = H(x) - H(x | y) by quadrature (0.3368).
    # n = 4000, k = 3: the estimate's sd over 20 seeds was 0.012; 0.05 is 4 sd.
    mix = lambda x: 0.5 * norm.pdf(x, -1) + 0.5 * norm.pdf(x, 1)  # noqa: E731
    truth = quad(lambda x: -mix(x) * np.log(mix(x)), -12, 12)[0] - 0.5 * np.log(2 * np.pi * np.e)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    X = (rng.normal(size=y.size) + 2 * y - 1)[:, None]
    assert mutual_info_cd(X, y, n_neighbors=3, random_state=0)[0] == pytest.approx(truth, abs=0.05)


@pytest.mark.parametrize("X, y, k, match", [
    (np.zeros(5), np.zeros(5), 3, "2-D"),
    (np.zeros((1, 2)), np.zeros(1), 3, "at least 2 rows"),
    (np.zeros((5, 0)), np.zeros(5), 3, "at least 2 rows and 1 column"),
    (np.array([[0.0], [np.nan], [1.0]]), np.zeros(3), 3, "finite"),
    (np.array([["a"], ["b"]]), np.zeros(2), 3, "real-valued"),
    (np.zeros((4, 1)), np.zeros(3), 3, "match X's 4 rows"),
    (np.zeros((4, 1)), np.zeros((4, 1)), 3, "1-D"),
    (np.zeros((4, 1)), np.array([0.0, 0.5, 1.0, 1.0]), 3, "whole numbers"),
    (np.zeros((4, 1)), np.array([0.0, np.inf, 1.0, 1.0]), 3, "finite"),
    (np.zeros((4, 1)), np.arange(4), 3, "single member"),
    (np.zeros((4, 1)), np.zeros(4), 0, "n_neighbors"),
    (np.zeros((4, 1)), np.zeros(4), 1.5, "n_neighbors"),
    (np.zeros((4, 1)), np.zeros(4), True, "n_neighbors"),
])
def test_bad_inputs_raise_clear_errors(X, y, k, match):
    with pytest.raises(ValueError, match=match):
        mutual_info_cd(X, y, n_neighbors=k)


def test_many_rejects_one_dimensional_labels():
    with pytest.raises(ValueError, match="n_label_columns"):
        mutual_info_cd_many(np.zeros((4, 1)), np.zeros(4))


def test_n_neighbors_beyond_every_label(monkeypatch):
    # k >= count - 1 everywhere: every label goes to sklearn's brute force, here in chunks.
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(150, 2)), rng.integers(0, 3, 150)
    expected = _sklearn(X, y, 100, 1)
    monkeypatch.setattr(mi_module, "_MAX_ELEMENTS", 500)  # a few query points a chunk
    np.testing.assert_array_equal(mutual_info_cd(X, y, n_neighbors=100, random_state=1),
                                  expected)
