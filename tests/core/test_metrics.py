"""Known-answer tests for nearid_core.science.metrics (MCC, weak MCC, InfoMEC, DCI)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from nearid_core.science.alignment import split_fit_eval
from nearid_core.science.ica import fit_ica
from nearid_core.science.infomec import (
    INFOE_ICA_TEXT,
    INFOE_PROTOCOL_TEXT,
    bin_factors,
    infoe_authors,
)
from nearid_core.science.metrics import dci, disentanglement_scores, infomec, mcc, weak_mcc

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
    # CCA in closed form: exact linear relations give canonical correlations of 1.
    assert weak_mcc(u @ M, u, fit_idx=fit, eval_idx=ev).score == pytest.approx(1.0, abs=1e-12)
    assert mcc(u @ M, u).score < 0.99  # a generic linear map is not a signed permutation


def test_weak_mcc_equals_scikit_learn_cca_solved_to_convergence():
    from sklearn.cross_decomposition import CCA

    from nearid_core.science.kernels import correlation_matrix

    rng = np.random.default_rng(5)
    for d in (2, 4, 6):  # noisy non-linear latents, as a trained model's
        u = rng.uniform(-1, 1, (1200, d))
        z = np.tanh(u @ rng.normal(size=(d, d))) + 0.1 * rng.normal(size=(1200, d))
        fit, ev = split_fit_eval(len(u), seed=0)
        cca = CCA(n_components=d, max_iter=100_000, tol=1e-14).fit(z[fit], u[fit])
        pz, pu = cca.transform(z[ev], u[ev])
        ref = np.abs(np.diag(correlation_matrix(pz, pu)))
        got = weak_mcc(z, u, fit_idx=fit, eval_idx=ev)
        np.testing.assert_allclose(got.canonical, ref, atol=1e-7)


def test_weak_mcc_counts_a_pair_beyond_the_rank_as_zero(u):
    # z holds two of u's three factors and a constant: two exact pairs, no third
    z = np.column_stack([u[:, 0], 2 * u[:, 1] - u[:, 0], np.full(len(u), 3.0)])
    fit, ev = split_fit_eval(len(u), seed=0)
    res = weak_mcc(z, u, fit_idx=fit, eval_idx=ev)
    np.testing.assert_allclose(res.canonical, [1.0, 1.0, 0.0], atol=1e-12)
    assert res.score == pytest.approx(2 / 3, abs=1e-12)
    assert weak_mcc(np.ones((len(u), 2)), u).score == 0.0  # no variation: nothing matches


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


def _authors_infoe_by_hand(z, v):
    """The InfoMEC authors' InfoE written out with sklearn, their null model included."""
    zs = StandardScaler().fit_transform(z)
    scores = []
    for y in v.T:
        def loss(X, y=y):
            model = LogisticRegression(C=np.inf, class_weight="balanced", solver="lbfgs",
                                       tol=1e-12, max_iter=10_000).fit(X, y)
            return log_loss(y, model.predict_proba(X))
        null = loss(np.zeros_like(zs))  # class-balanced intercepts only
        scores.append((null - loss(zs)) / null)
    return float(np.mean(scores))


@pytest.fixture
def noisy():
    """Latents that predict 8-bin factors well but not perfectly: a finite optimum."""
    rng = np.random.default_rng(11)
    u = rng.uniform(size=(600, 2))
    return u @ np.array([[1.0, 0.3], [-0.2, 0.8]]) + 0.05 * rng.normal(size=u.shape), u


def test_infoe_authors_matches_their_formula_by_hand(noisy):
    z, u = noisy
    v = bin_factors(u, n_bins=8)
    # Two solvers (Newton at tol 1e-10 vs lbfgs at tol 1e-12, as by hand) on
    # a strictly convex problem with a finite optimum: they agree to the solvers' tolerance.
    assert infoe_authors(z, v) == pytest.approx(_authors_infoe_by_hand(z, v), abs=1e-6)
    result = infomec(z, u, n_bins=8, seed=0, protocol="authors")
    assert result.protocol == "authors" and result.infoe == infoe_authors(z, v)


def test_infoe_authors_known_answers():
    rng = np.random.default_rng(5)
    u = rng.uniform(size=(2000, 2))
    v = bin_factors(u, n_bins=20)  # 100 rows per bin: balanced weights are all 1
    # Each factor is a latent: its bins are separable, the log-loss has no finite minimum
    # and the solver drives it towards 0, so InfoE -> 1 (it stops within 1e-6 here).
    assert infoe_authors(u, v) == pytest.approx(1.0, abs=1e-6)
    # Independent latents: in-sample gain of K - 1 = 19 logits per latent is pure overfit,
    # about (K-1) d / (2 n log K) = 0.003; never below 0, since the fit nests the null.
    noise = infoe_authors(rng.normal(size=(2000, 2)), v)
    assert 0.0 <= noise < 0.01
    # A discrete factor keeps one class per value (the authors' label encoding).
    codes = rng.integers(0, 4, size=2000).astype(float)
    z = np.column_stack([codes * 2.0 - 3.0, rng.normal(size=2000)])
    d = infomec(z, codes[:, None] + 10.0, seed=0, protocol="authors")
    assert d.infoe == pytest.approx(1.0, abs=1e-6)


def test_infoe_authors_is_invariant_under_invertible_linear_maps(noisy):
    # Unpenalised logistic regression absorbs any invertible affine map of its inputs into
    # its weights, so its optimum, hence InfoE, is the same: 1e-6 covers the solver's tol.
    z, u = noisy
    v = bin_factors(u, n_bins=8)
    base = infoe_authors(z, v)
    M = np.array([[3.0, -1.0], [0.5, 0.2]])  # invertible, condition number ~ 20
    assert infoe_authors(z @ M + 7.0, v) == pytest.approx(base, abs=1e-6)
    ica = fit_ica(z, seed=0)  # ICA's unmixing is such a map
    assert infoe_authors(ica.transform(z), v) == pytest.approx(base, abs=1e-6)
    assert "cannot change under ICA" in INFOE_ICA_TEXT
    # The protocol text names what separates the two protocols.
    for phrase in ("scored on the other", "scored on the same rows", "C = 1e4", "unpenalised"):
        assert phrase in INFOE_PROTOCOL_TEXT


def test_infomec_protocols(u):
    rows = u[:2200, :2]
    authors = infomec(rows + 0.1 * np.random.default_rng(2).normal(size=rows.shape), rows,
                      n_bins=8, seed=0, protocol="authors")
    assert authors.n_rows == 2200  # all rows: the authors do not subsample
    assert infomec(u, u, seed=0).n_rows == 2000 and infomec(u, u, seed=0).protocol == "nearid"
    with pytest.raises(ValueError, match="protocol must be one of"):
        infomec(u, u, protocol="hsu")


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
    noisy = u[:1000] + 0.05 * np.random.default_rng(1).normal(size=(1000, 3))
    both = disentanglement_scores(noisy, u[:1000], seed=0, authors_infoe=True)
    assert set(both) == expected | {"infoe_authors"}
    assert both["infoe_authors"] == infoe_authors(noisy, bin_factors(u[:1000], n_bins=20))


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


def test_infoe_is_carried_over_under_ica_and_equals_a_refit():
    # ICA of all latents is invertible: InfoE after ICA is the value before (by either
    # protocol), and a refit would agree (exactly up to tolerance for the unpenalised
    # authors' fit; within 2e-3 for nearid's C = 1e4 fit, its penalty and solver noise).
    rng = np.random.default_rng(3)
    u = rng.laplace(size=(1200, 2))
    z = u @ np.array([[1.0, 0.6], [-0.4, 1.0]]) + 0.1 * rng.normal(size=(1200, 2))
    z_ica = fit_ica(z, seed=0).transform(z)
    before = disentanglement_scores(z, u, seed=0, authors=True)
    after = disentanglement_scores(z_ica, u, seed=0, authors=True, same_infoe=before)
    refit = disentanglement_scores(z_ica, u, seed=0, authors=True)
    assert after["infoe"] == before["infoe"]
    assert after["infoe_authors"] == before["infoe_authors"]
    assert refit["infoe_authors"] == pytest.approx(before["infoe_authors"], abs=1e-6)
    assert refit["infoe"] == pytest.approx(before["infoe"], abs=2e-3)
    # Everything else is computed on z_ica itself: ICA aligns the latents with the factors.
    assert after["infom"] == refit["infom"] and after["infom_authors"] == refit["infom_authors"]
    assert after["infom_authors"] > before["infom_authors"] + 0.1
    theirs = infomec(z, u, seed=0, protocol="authors")
    assert (before["infom_authors"], before["infoc_authors"]) == (theirs.infom, theirs.infoc)


@pytest.mark.parametrize("n", [600, 2500])
def test_authors_protocol_reuses_nearids_mi_only_on_the_same_rows(n):
    # Both protocols run one k-NN MI estimator with one seed; on the same rows (n <= 2,000,
    # where nearid does not subsample) the estimate is shared, unclipped for the authors.
    rng = np.random.default_rng(2)
    u = rng.uniform(size=(n, 2))
    z = u @ np.array([[1.0, 0.5], [0.1, 1.0]]) + 0.05 * rng.normal(size=(n, 2))
    ours = infomec(z, u, seed=0)
    fresh = infomec(z, u, seed=0, protocol="authors")
    shared = infomec(z, u, seed=0, protocol="authors", same_z=ours)
    np.testing.assert_array_equal(shared.nmi, fresh.nmi)
    assert (shared.infom, shared.infoc, shared.infoe) == (fresh.infom, fresh.infoc, fresh.infoe)
    if n <= 2000:
        np.testing.assert_array_equal(ours.nmi, np.clip(fresh.nmi, 0, 1))


@pytest.mark.parametrize("n", [205, 1638])
def test_infomec_nmi_is_scikit_learns_estimate_bit_for_bit(n):
    """InfoMEC's MI goes through ``mi.mutual_info_cd_many`` (issue 13: 20x faster); on the
    latents a sweep analyses it equals the per-factor ``mutual_info_classif`` loop it
    replaced, to the last bit, so no stored InfoM or InfoC moves."""
    from sklearn.feature_selection import mutual_info_classif

    from nearid_core.science.infomec import _entropy, _nmi, _standardise, bin_factors

    rng = np.random.default_rng(n)
    u = rng.uniform(-1, 1, (n, 2))
    z = _standardise(np.tanh(u @ rng.normal(size=(2, 3))) + 0.05 * rng.normal(size=(n, 3)))
    v = bin_factors(u, n_bins=20)
    old = np.array([mutual_info_classif(z, codes, discrete_features=False, n_neighbors=10,
                                        random_state=7) / _entropy(codes) for codes in v.T])
    np.testing.assert_array_equal(_nmi(z, v, 7), old)
