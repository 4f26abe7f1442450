"""Known answers for the guarded ICA efficiency, the Theorem-1 fits, the claims and L names."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from nearid_core.science import efficiency, fits
from nearid_core.studies import claims, summary

NAN = float("nan")


# ---------------------------------------------------------------- efficiency


def test_efficiency_is_na_when_the_raw_axes_are_as_good_as_a_rotation():
    out = efficiency.guarded(0.2, 0.2, 0.1, 0.15)  # perm == rigid: no gap to close
    assert math.isnan(out["ica_efficiency"])
    assert out["ica_efficiency_note"].startswith(efficiency.AXES)
    # a gap of 5% of perm is below the 10% rule: still no number
    out = efficiency.guarded(0.2, 0.19, 0.1, 0.15)
    assert math.isnan(out["ica_efficiency"]) and "below 10% of perm" in out[
        "ica_efficiency_note"]


def test_efficiency_flags_ica_worse_than_the_raw_axes():
    out = efficiency.guarded(0.2, 0.1, 0.05, 0.25)  # a real gap, but ICA above perm
    assert math.isnan(out["ica_efficiency"])
    assert out["ica_efficiency_note"].startswith(efficiency.WORSE)
    # The ReLU case: rigid above perm and ICA the worst of all, printed as 218%.
    out = efficiency.guarded(0.221, 0.244, 0.2, 0.272)
    assert math.isnan(out["ica_efficiency"])
    assert efficiency.AXES in out["ica_efficiency_note"]
    assert efficiency.WORSE in out["ica_efficiency_note"]
    assert efficiency.short(out["ica_efficiency"], out["ica_efficiency_note"]) == \
        "n/a: axes; ICA worse"


def test_efficiency_values_on_hand_made_cases():
    out = efficiency.guarded(0.3, 0.1, 0.05, 0.2)  # ICA closes half the gap
    assert out["ica_efficiency"] == pytest.approx(0.5, abs=1e-15)
    assert out["ica_vs_linear"] == pytest.approx(4.0, abs=1e-15)
    assert out["ica_efficiency_note"] == ""
    out = efficiency.guarded(0.3, 0.1, 0.05, 0.05)  # ICA at the linear level, below rigid
    assert out["ica_efficiency"] == pytest.approx(1.25, abs=1e-15)
    assert out["ica_vs_linear"] == pytest.approx(1.0, abs=1e-15)
    assert out["ica_efficiency_note"].startswith("above 100%")
    assert efficiency.short(out["ica_efficiency"], "") == "125%"


def test_efficiency_needs_a_gap_above_the_noise_of_seed_pairs():
    # mean gap 0.045 (22% of perm) but the pairs disagree in sign: SE 0.091
    units = {"perm": [0.30, 0.10, 0.32, 0.08], "rigid": [0.10, 0.20, 0.10, 0.22],
             "linear": [0.05] * 4, "ica": [0.1] * 4}
    out = efficiency.from_units(units)
    diff = np.subtract(units["perm"], units["rigid"])
    assert out["gap_se"] == pytest.approx(diff.std(ddof=1) / 2, rel=1e-12)
    assert math.isnan(out["ica_efficiency"])
    assert "within 2 standard errors" in out["ica_efficiency_note"]
    # the same mean gap with consistent pairs is shown: (0.2 - 0.1) / (0.2 - 0.155)
    steady = dict(units, perm=[0.2] * 4, rigid=[0.155] * 4)
    assert efficiency.from_units(steady)["ica_efficiency"] == pytest.approx(0.1 / 0.045)


# ---------------------------------------------------------------- Theorem-1 fits


L5 = np.array([0.0, 0.1, 0.5, 1.0, 3.0])


def test_fit_refuses_fewer_than_three_leaks_or_no_spread_of_L():
    f = fits.fit_per_leak([0.1, 2.0], [[0.01], [0.05]])
    assert not f.ok and f.reason == "needs errors at ≥ 3 leaks, has 2"
    assert math.isnan(f.c) and f.note().startswith("no fit")
    f = fits.fit_per_leak([0.1, 0.11, 0.12], [[0.01], [0.02], [0.03]])
    assert not f.ok and f.reason.startswith("L spans only 0.02")
    f = fits.fit_per_unit([[0.5, 0.6]], [[0.1, 0.2]])  # one leak, two pairs
    assert not f.ok and f.reason == "needs errors at ≥ 3 leaks, has 1"
    assert fits.fit_per_leak([], []).reason.endswith("(statistical errors need ≥ 2 seeds "
                                                     "per leak)")


def test_bootstrap_interval_collapses_to_c_on_exact_data():
    c = 0.3
    err = [np.full(3, c * fits.shape(a)) for a in L5]  # three pairs per leak, all exact
    f = fits.fit_per_leak(L5, err)
    assert f.c == pytest.approx(c, rel=1e-12) and f.r2 == pytest.approx(1.0, abs=1e-12)
    assert f.c_low == pytest.approx(c, rel=1e-12) and f.c_high == pytest.approx(c, rel=1e-12)
    # per unit: every pair at its own L, exactly on the curve
    Lu = [np.array([a, a + 0.05, a + 0.2]) for a in L5]
    fu = fits.fit_per_unit(Lu, [c * fits.shape(x) for x in Lu])
    assert (fu.c, fu.c_low, fu.c_high) == pytest.approx((c, c, c), rel=1e-12)
    assert fu.n_points == 15 and fu.n_leaks == 5


def test_bootstrap_is_deterministic_and_brackets_c():
    rng = np.random.default_rng(3)
    err = [0.2 * fits.shape(a) + 0.02 * rng.standard_normal(4) for a in L5]
    a, b = fits.fit_per_leak(L5, err), fits.fit_per_leak(L5, err)
    assert a == b  # same seed: the same interval, to the last bit
    assert a.c_low < a.c < a.c_high
    other = fits.fit_per_leak(L5, err, seed=1)
    assert other.c == a.c and (other.c_low, other.c_high) != (a.c_low, a.c_high)


def test_r2_of_both_shapes_picks_the_shape_that_made_the_data():
    L = np.array([0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2])
    noise = 0.002 * np.random.default_rng(0).standard_normal(L.size)
    from_sqrt = fits.fit_per_leak(L, [[e] for e in 0.1 * fits.shape(L) + noise])
    assert (1 - from_sqrt.r2) * fits.SHAPE_RATIO < 1 - from_sqrt.r2_line
    assert from_sqrt.shapes().startswith("the √ shape fits better")
    from_line = fits.fit_per_leak(L, [[e] for e in 0.2 + 0.05 * L + noise])
    assert (1 - from_line.r2_line) * fits.SHAPE_RATIO < 1 - from_line.r2
    assert from_line.shapes().startswith("the line a + bL fits better")
    assert from_line.a == pytest.approx(0.2, abs=0.01) and from_line.b == pytest.approx(0.05,
                                                                                     abs=0.01)
    # noise as large as the trend: neither shape wins
    noisy = fits.fit_per_leak(L, [[e] for e in 0.1 * fits.shape(L) + 0.15 * noise / 0.002])
    assert noisy.shapes().startswith("not told apart")
    # a line with a large intercept is far from any curve through the origin: R² < 0
    flat = fits.fit_per_leak(L, [[e] for e in 0.5 + 0.001 * L])
    assert flat.r2 < 0 and flat.note() == fits.NEGATIVE_R2


def test_three_points_cannot_tell_a_line_from_the_sqrt_shape():
    # A line a + bL has two parameters: through 3 points it keeps 1 degree of freedom and
    # fits almost any convex or concave trend (here it is exact, R² = 1), so raw R² would
    # always favour it. With so few points the shapes are "not told apart", said why.
    L = np.array([0.0, 1.0, 3.0])
    exact_line = fits.fit_per_leak(L, [[e] for e in 0.02 + 0.01 * L])
    assert exact_line.r2_line == pytest.approx(1.0) and exact_line.r2 < 1
    assert exact_line.shapes().startswith("not told apart")
    assert "3 points leave the line (two parameters) 1 degree(s) of freedom" in \
        exact_line.shapes()
    # The same line sampled at 6 leaks is told apart: per residual degree of freedom it
    # leaves far less unexplained than a curve through the origin.
    L6 = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 4.0])
    six = fits.fit_per_leak(L6, [[e] for e in 0.02 + 0.01 * L6 + 1e-4 * np.sin(7 * L6)])
    assert six.shapes().startswith("the line a + bL fits better")


def test_a_pairs_L_is_the_larger_of_its_two_models():
    assert fits.pair_L([0.5, 2.0], [1.5, 0.1]).tolist() == [1.5, 2.0]
    doc = _doc()
    u = summary.units(doc, _runs(), "statistical")
    assert u[0.5]["L_max"].tolist() == [3.0]  # models 2 (L_max 1) and 3 (L_max 3)
    assert summary.pair_rows(doc, _runs())[1]["L_mean"] == 1.5


# ---------------------------------------------------------------- summary and claims


def _doc() -> dict:
    """Two leaks, two seeds each; pairs given by position (as documents before model_a)."""
    pair = {"i": 0, "j": 1, "perm": 0.2, "rigid": 0.2, "linear": 0.1, "ica": 0.15,
            "ica_converged": True}
    per_model = {str(i): {"structural": {"perm": 0.3, "rigid": 0.1, "linear": 0.05,
                                         "ica": 0.2}} for i in range(4)}
    rows = [{"leak": a, "models": 2, "B_max": bm, "L_max": lm, "L_mean": lmean,
             "stat_perm": 0.2, "stat_rigid": 0.2} for a, bm, lm, lmean in
            ((0.0, 1.0, 0.0, 0.0), (0.5, 4.0, 2.0, 1.0))]
    return {"per_leak": rows, "per_model": per_model,
            "pairs": {"0.0": [pair], "0.5": [dict(pair, rigid=0.1, ica=0.3)]}}


def _runs() -> list[dict]:
    L = [(0.0, 0.0), (0.0, 0.0), (1.0, 0.5), (3.0, 1.5)]
    return [{"index": i, "leak": 0.0 if i < 2 else 0.5, "seed": i % 2, "status": "done",
             "metrics": {"L_max": lm, "L_mean": lmean}} for i, (lm, lmean) in enumerate(L)]


def test_leak_rows_name_L_for_what_it_is_and_guard_efficiency():
    rows = summary.leak_rows(_doc(), _runs())
    r = rows[1]
    assert "L_max" not in r and "L_mean" not in r
    assert (r["L_max_max"], r["L_max_mean"], r["L_mean_max"], r["L_mean_mean"]) == \
        (3.0, 2.0, 1.5, 1.0)
    assert r["L_max_max"] == r["B_max"] - 1
    assert math.isnan(rows[0]["ica_efficiency"])  # perm == rigid at leak 0
    assert rows[0]["ica_efficiency_note"].startswith(efficiency.AXES)
    assert rows[1]["ica_efficiency_note"].startswith(efficiency.WORSE)  # ICA 0.3 > perm 0.2
    assert rows[1]["struct_ica_efficiency"] == pytest.approx(0.5)  # (0.3-0.2)/(0.3-0.1)
    # without per-model metrics the stored seed means keep their meaning
    bare = summary.leak_rows(_doc(), [dict(r, metrics={}) for r in _runs()])[1]
    assert bare["L_max_mean"] == 2.0 and bare["L_max_max"] == 3.0  # B_max - 1
    assert math.isnan(bare["L_mean_max"])


def test_stored_fits_say_why_there_is_none():
    fit = summary.stored_fits(_doc(), _runs())["rigid_vs_L_max_max"]
    assert math.isnan(fit["c"]) and fit["note"] == "no fit: needs errors at ≥ 3 leaks, has 2"


def _rows(rigid, recon, q90, perm=None) -> list[dict]:
    leaks = [0.0, 0.4, 0.8]
    perm = perm or [0.5] * 3
    return [{"leak": a, "L_max_max": L, "stat_rigid": r, "stat_perm": p, "recon_mse": m,
             "B_median": q} for a, L, r, p, m, q in zip(leaks, [0.0, 1.0, 3.0], rigid, perm,
                                                        recon, q90, strict=True)]


def test_claims_hold_and_do_not_hold_on_constructed_rows():
    good = {c["claim"]: c for c in claims.claim_rows(_rows([0.01, 0.02, 0.04], [3, 2, 1],
                                                           [1.0, 1.5, 3.0]))}
    assert all(c["holds"] is True for c in good.values())
    assert good["rigid error grows with L (Fig. 2 / A.4)"]["verdict"].startswith(
        "holds here (rank +1.00")
    bad = {c["claim"]: c for c in claims.claim_rows(
        _rows([0.04, 0.01, 0.03], [1, 3, 2], [3.0, 1.5, 1.0], perm=[0.5, 0.005, 0.5]))}
    assert all(c["holds"] is False for c in bad.values())
    assert bad["rigid error grows with L (Fig. 2 / A.4)"]["verdict"] == (
        "does not hold here (rank -0.50 with L_max_max; needs ≥ +0.8)")
    assert "not at α = 0.4" in bad["perm above rigid at every leak (Table 1)"]["verdict"]
    two = claims.claim_rows(_rows([0.01, 0.02, 0.04], [3, 2, 1], [1, 1.5, 3])[:2])
    assert two[0]["holds"] is None and two[0]["verdict"].startswith("cannot tell here (2 leaks")


def test_rank_is_spearman_with_ties():
    x, y = [1.0, 2.0, 2.0, 3.0, 5.0], [0.3, 0.1, 0.2, 0.2, 0.9]
    assert claims.rank(x, y)[0] == pytest.approx(spearmanr(x, y)[0], abs=1e-12)
    assert math.isnan(claims.rank([1, 2], [3, 4])[0])


def test_l_dips_are_explained_from_the_measured_B():
    rows = [{"leak": 0.8, "B_median": 2.5, "B_max": 7.5, "L_max_max": 6.5},
            {"leak": 0.95, "B_median": 2.35, "B_max": 4.9, "L_max_max": 3.9}]
    drivers = claims.l_drivers(rows, K=2)
    assert drivers[0]["bound"] == pytest.approx(25.0)
    assert drivers[1]["k_median"] == pytest.approx(math.log(2.35) / -math.log(0.05))
    (text,) = claims.l_dips(rows, drivers, K=2)
    assert "L_max_max 6.500 → 3.900" in text and "rises from 25 to 400" in text
    assert f"{drivers[0]['k_median']:.2f} to {drivers[1]['k_median']:.2f}" in text
    rising = [dict(rows[0]), dict(rows[1], L_max_max=7.0)]
    assert claims.l_dips(rising, drivers, K=2) == []


def test_a_fit_over_pairs_without_their_L_says_so():
    f = fits.fit_per_unit([[NAN], [NAN], [NAN]], [[0.1], [0.2], [0.3]])
    assert f.reason == "the L of its units (each model's B(z) summary) is not recorded"


def test_per_unit_bootstrap_one_leak_at_a_time_matches_all_at_once_and_stays_small():
    import tracemalloc

    rng = np.random.default_rng(3)
    Lu = [rng.uniform(0.1 * k, 0.1 * k + 0.5, 2016) for k in range(6)]  # 64 seeds a leak
    eu = [0.3 * fits.shape(x) + rng.normal(0, 0.01, x.size) for x in Lu]
    tracemalloc.start()
    got = fits.fit_per_unit(Lu, eu, seed=7)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the reference: every leak's draws concatenated (the same draws, in the same order)
    draws = np.random.default_rng(7)
    picks = [draws.integers(0, x.size, (fits.N_BOOT, x.size)) for x in Lu]
    F = np.concatenate([fits.shape(x)[p] for x, p in zip(Lu, picks, strict=True)], 1)
    E = np.concatenate([e[p] for e, p in zip(eu, picks, strict=True)], 1)
    lo, hi = np.percentile((F * E).sum(1) / (F * F).sum(1), [2.5, 97.5])
    assert got.c_low == pytest.approx(lo, rel=1e-12)
    assert got.c_high == pytest.approx(hi, rel=1e-12)
    assert peak < 100 * 2**20  # one leak's (1,000 x 2,016) arrays, not six leaks' at once
