from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from nearid_core.studies.analysis import analyse_model, analyse_pairs, analyse_sweep, theorem1_fit


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def _uniform(n=2000, seed=0):
    return np.random.default_rng(seed).uniform(-1.7, 1.7, (n, 2))


def test_theorem1_fit_recovers_an_exact_law():
    L = np.array([0.0, 0.1, 0.5, 1.0, 3.0])
    err = 0.3 * np.sqrt(2 * L + L**2)
    fit = theorem1_fit(L, err)
    assert fit["c"] == pytest.approx(0.3, rel=1e-12)
    assert fit["r2"] == pytest.approx(1.0, abs=1e-12)
    assert fit["n"] == 5


def test_theorem1_fit_is_least_squares_through_the_origin():
    L = np.array([0.2, 1.0, 2.0])
    err = np.array([0.05, 0.2, 0.25])
    f = np.sqrt(2 * L + L**2)
    c = theorem1_fit(L, err)["c"]
    # The normal equation of min_c |err - c f|^2: the residual is orthogonal to f.
    assert abs(f @ (err - c * f)) < 1e-12
    assert np.isnan(theorem1_fit([np.nan, 1.0], [0.1, 0.2])["c"])  # one usable point


def test_analyse_model_rotated_uniform_factors_are_recovered_by_ica():
    u = _uniform()
    z = u @ _rotation(40).T  # a rigid copy of the factors, axes mixed
    res, ica = analyse_model(z, u, seed=0)
    assert res["structural"]["rigid"] < 1e-10  # exactly a rotation
    assert res["structural"]["perm"] > 0.1  # but not axis aligned
    assert res["before"]["mcc"] < 0.85  # |cos 40| and |sin 40| are 0.77 and 0.64
    assert res["after"]["mcc"] > 0.99  # ICA undoes the rotation of uniform sources
    # The stored mixing reconstructs the latents: z = mean + s @ mixing.T
    np.testing.assert_allclose(ica["mean"] + ica["latents"] @ ica["mixing"].T, z, atol=1e-8)


def test_analyse_model_gaussian_factors_stay_rotated():
    u = np.random.default_rng(1).standard_normal((2000, 2))
    res, _ = analyse_model(u @ _rotation(40).T, u, seed=0)
    # Gaussian sources are rotation invariant: ICA has nothing to find.
    assert res["after"]["mcc"] < 0.97


def test_pairs_and_sweep_rows():
    u = _uniform()
    rng = np.random.default_rng(2)
    zs = {0.0: [u @ _rotation(a).T for a in (10, 70, 130)],
          0.5: [u @ _rotation(a).T + 0.05 * rng.standard_normal(u.shape) for a in (5, 50)]}
    pairs = analyse_pairs(zs[0.0], seed=0)
    assert len(pairs) == 3 and max(p["rigid"] for p in pairs) < 1e-10
    models = [(i, a, z) for i, (a, z) in enumerate((a, z) for a in zs for z in zs[a])]
    rows = [{"leak": 0.0, "L_max": 0.0, "L_mean": 0.0, "recon_mse": 1.0},
            {"leak": 0.5, "L_max": 1.0, "L_mean": 0.5, "recon_mse": 0.5}]
    with ThreadPoolExecutor(2) as ex:
        an = analyse_sweep(rows, models, u, executor=ex)
    assert [r["n_pairs"] for r in an.per_leak] == [3, 1]
    assert an.per_leak[0]["stat_rigid"] < 1e-10 < an.per_leak[1]["stat_rigid"]
    row = an.per_leak[1]
    # Nested groups, each fitted on the fit half and scored out of sample: the order holds
    # up to eval-half noise (1e-3 here, where the noise is 5% of the factor scale).
    assert row["stat_perm"] >= row["stat_rigid"] >= row["stat_linear"] - 1e-3
    assert set(an.per_model) == set(range(5)) and set(an.ica) == set(range(5))
    # Two leaks cannot carry a one-parameter shape: the fit says so instead of numbers.
    fit = an.fits["rigid_vs_L_max_mean"]
    assert fit["n_leaks"] == 2 and np.isnan(fit["c"])
    assert fit["reason"] == "needs errors at ≥ 3 leaks, has 2"
    assert an.to_json()["per_model"]["0"]["after"]["mcc"] > 0.99
    # Pairs name their models; the seed-mean L of the rows keeps its honest name.
    assert [(p["model_a"], p["model_b"]) for p in an.pairs[0.0]] == [(0, 1), (0, 2), (1, 2)]
    assert an.pairs[0.5][0]["model_a"] == 3 and an.pairs[0.5][0]["model_b"] == 4
    assert "L_max" not in row and row["L_max_mean"] == 1.0 and row["L_mean_mean"] == 0.5


def test_sweep_rows_with_per_model_L_name_every_summary():
    u = _uniform(400)
    zs = [u @ _rotation(a).T for a in (10, 60)]
    models = [(0, 0.5, zs[0]), (1, 0.5, zs[1])]
    rows = [{"leak": 0.5, "L_max": 2.0, "L_mean": 1.0, "recon_mse": 1.0, "B_max": 4.0}]
    lip = {0: {"L_max": 1.0, "L_mean": 0.5}, 1: {"L_max": 3.0, "L_mean": 1.5}}
    with ThreadPoolExecutor(1) as ex:
        an = analyse_sweep(rows, models, u, executor=ex, lipschitz=lip)
    row = an.per_leak[0]
    assert (row["L_max_mean"], row["L_max_max"]) == (2.0, 3.0)
    assert (row["L_mean_mean"], row["L_mean_max"]) == (1.0, 1.5)
    # the B and L columns sit together: L_max_max right after B_max
    keys = list(row)
    assert keys[keys.index("B_max") + 1:keys.index("B_max") + 5] == [
        "L_max_max", "L_max_mean", "L_mean_max", "L_mean_mean"]
