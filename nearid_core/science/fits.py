"""The Theorem-1 fit, ``error = c * sqrt(2L + L^2)``, with its caveats computed.

Theorem 1 (PAPER.md §2) bounds the *rigid* error by ``c_D * sqrt(2L + L^2) * diam``; its
constant is unknown, so ``c`` is fitted by least squares through the origin. A fit is only
reported when the data can support it (``MIN_LEAKS`` leaks whose L spans ``MIN_L_SPREAD``);
beside ``c`` come a bootstrap interval over seed pairs (or models) and the R² of the
alternative straight line ``a + b L``, so a reader sees whether the data tell the shapes apart.

Two bases: *per leak* (one point per leak: its L summary and the mean error over its seed
pairs) and *per unit* (one point per seed pair, whose L is the larger of its two models' L,
or per model in the structural view).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# The one nan of every n/a value here: the same object, so rows that hold n/a compare
# equal (``==`` on containers checks identity first), e.g. the same sweep run twice.
NA = float("nan")
MIN_LEAKS = 3  # a one-parameter shape judged on fewer points says nothing
MIN_L_SPREAD = 0.05  # max L − min L: below it every point sits at the same L
N_BOOT = 1000
CI = 0.95
SHAPE_RATIO = 3.0  # one shape must leave ≤ 1/3 of the other's unexplained variance per
# residual degree of freedom ((1 − R²) / (points − parameters))
MIN_SHAPE_POINTS = 5  # the line keeps ≥ 3 residual degrees of freedom
NEGATIVE_R2 = ("R² < 0: the fitted curve is further from the errors than their mean is "
               "(worse than a constant)")


def shape(L) -> np.ndarray:
    """Theorem 1's ``sqrt(2L + L^2)`` for L (clipped at 0: B ≥ 1 up to float error)."""
    L = np.clip(np.asarray(L, float), 0.0, None)
    return np.sqrt(2 * L + L**2)


def r_squared(err: np.ndarray, pred: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` around the mean error; nan when the errors do not vary."""
    ss_tot = float(((err - err.mean()) ** 2).sum())
    return 1 - float(((err - pred) ** 2).sum()) / ss_tot if ss_tot > 0 else NA


def origin_fit(L, err) -> tuple[float, float]:
    """Least squares ``err ≈ c * shape(L)`` through the origin: (c, R²); nan when impossible.

    Parameters
    ----------
    L, err : (k,) finite bi-Lipschitz excesses and errors.
    """
    f, e = shape(L), np.asarray(err, float)
    if f.size < 2 or not np.any(f > 0):
        return NA, NA
    c = float(f @ e / (f @ f))
    return c, r_squared(e, c * f)


def line_fit(L, err) -> tuple[float, float, float]:
    """Ordinary least squares ``err ≈ a + b L``: (a, b, R²); nan with fewer than 3 points."""
    L, e = np.asarray(L, float), np.asarray(err, float)
    if L.size < 3 or np.ptp(L) == 0:
        return NA, NA, NA
    b, a = np.polyfit(L, e, 1)
    return float(a), float(b), r_squared(e, a + b * L)


@dataclass(frozen=True)
class Theorem1Fit:
    """One Theorem-1 fit and what it can and cannot say.

    Attributes
    ----------
    basis : "leak" (one point per leak) or "unit" (one per seed pair or model).
    n_leaks, n_points : leaks and points used; L_range : max L − min L over the points.
    c : fitted constant; c_low, c_high : bootstrap percentile interval (``CI``) of c over
        seed pairs (or models) resampled within each leak; r2 : R² of ``c * shape(L)``.
    a, b, r2_line : the alternative line ``a + b L`` and its R² (two parameters, not one).
    reason : why there is no fit ("" when there is one); every number is then nan.
    """

    basis: str
    n_leaks: int
    n_points: int
    L_range: float
    c: float = NA
    c_low: float = NA
    c_high: float = NA
    r2: float = NA
    a: float = NA
    b: float = NA
    r2_line: float = NA
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason

    def shapes(self) -> str:
        """Whether the data tell ``c·√(2L+L²)`` and ``a + bL`` apart (computed from R²)."""
        if not self.ok:
            return "n/a (no fit)"
        if not (np.isfinite(self.r2) and np.isfinite(self.r2_line)):
            return "n/a (the errors do not vary)"
        told = f"R² {self.r2:.3f} (√ shape) vs {self.r2_line:.3f} (line)"
        if self.n_points < MIN_SHAPE_POINTS:
            return (f"not told apart: {told}, but {self.n_points} points leave the line (two "
                    f"parameters) {self.n_points - 2} degree(s) of freedom; needs "
                    f"≥ {MIN_SHAPE_POINTS} points")
        # Unexplained variance per residual degree of freedom: the line spends two.
        left_sqrt = max(1 - self.r2, 0.0) / (self.n_points - 1)
        left_line = max(1 - self.r2_line, 0.0) / (self.n_points - 2)
        if left_line > 1e-12 and left_sqrt * SHAPE_RATIO <= left_line:
            return f"the √ shape fits better: {told}"
        if left_sqrt > 1e-12 and left_line * SHAPE_RATIO <= left_sqrt:
            return f"the line a + bL fits better: {told}"
        return f"not told apart: {told}"

    def note(self) -> str:
        """The fit's caveats in words: the refusal, or a negative R² explained."""
        if not self.ok:
            return f"no fit: {self.reason}"
        return NEGATIVE_R2 if self.r2 < 0 else ""

    def to_dict(self) -> dict:
        return asdict(self) | {"shapes": self.shapes(), "note": self.note()}


def _refusal(n_leaks: int, L_range: float) -> str:
    if n_leaks < MIN_LEAKS:
        return (f"needs errors at ≥ {MIN_LEAKS} leaks, has {n_leaks}"
                + ("" if n_leaks else " (statistical errors need ≥ 2 seeds per leak)"))
    if not L_range >= MIN_L_SPREAD:
        return f"L spans only {L_range:.3g} (needs a range ≥ {MIN_L_SPREAD:g})"
    return ""


def _clean(L_units, err_units) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for L, e in zip(L_units, err_units, strict=True):
        L, e = np.broadcast_arrays(np.asarray(L, float), np.asarray(e, float))
        ok = np.isfinite(L) & np.isfinite(e)
        if ok.any():
            out.append((L[ok], e[ok]))
    return out


def _interval(cs: np.ndarray) -> tuple[float, float]:
    cs = cs[np.isfinite(cs)]
    if not cs.size:
        return NA, NA
    lo, hi = np.percentile(cs, [50 * (1 - CI), 50 * (1 + CI)])
    return float(lo), float(hi)


def fit_per_leak(L_leak, err_units, *, seed: int = 0, n_boot: int = N_BOOT) -> Theorem1Fit:
    """Fit over leaks: each leak's L summary against its mean error over units.

    Parameters
    ----------
    L_leak : (k,) one L per leak (e.g. the max over seeds of each model's max B − 1).
    err_units : k arrays, the errors of each leak's seed pairs (or models).
    seed : seed of the bootstrap (resampling units within each leak), so it is repeatable.

    Notes
    -----
    The interval shows how much c moves with the choice of seed pairs; it holds L fixed and
    treats pairs sharing a seed as independent, so it is a guide, not a coverage guarantee.
    """
    items = _clean(L_leak, err_units)
    L = np.array([x[0][0] for x in items])
    errs = [x[1] for x in items]
    L_range = float(np.ptp(L)) if L.size else NA
    why = _refusal(len(items), L_range)
    if why:
        return Theorem1Fit("leak", len(items), len(items), L_range, reason=why)
    means = np.array([e.mean() for e in errs])
    c, r2 = origin_fit(L, means)
    a, b, r2_line = line_fit(L, means)
    rng = np.random.default_rng(seed)
    boot = np.stack([e[rng.integers(0, e.size, (n_boot, e.size))].mean(1) for e in errs], 1)
    f = shape(L)
    lo, hi = _interval(boot @ f / (f @ f))
    return Theorem1Fit("leak", len(items), len(items), L_range, c, lo, hi, r2, a, b, r2_line)


def fit_per_unit(L_units, err_units, *, seed: int = 0, n_boot: int = N_BOOT) -> Theorem1Fit:
    """Fit over units: every seed pair (or model) is a point at its own L.

    Parameters
    ----------
    L_units, err_units : one array per leak, the L and the error of each of its units (a
        pair's L is ``pair_L`` of its two models).
    seed : seed of the bootstrap (units resampled within each leak).
    """
    items = _clean(L_units, err_units)
    L = np.concatenate([x[0] for x in items]) if items else np.array([])
    e = np.concatenate([x[1] for x in items]) if items else np.array([])
    L_range = float(np.ptp(L)) if L.size else NA
    why = _refusal(len(items), L_range)
    if not items and any(np.isfinite(np.asarray(e, float)).any() for e in err_units):
        why = "the L of its units (each model's B(z) summary) is not recorded"
    if why:
        return Theorem1Fit("unit", len(items), L.size, L_range, reason=why)
    c, r2 = origin_fit(L, e)
    a, b, r2_line = line_fit(L, e)
    rng = np.random.default_rng(seed)
    # One leak's draws at a time (the same draws, in the same order, as all at once): the
    # memory is one leak's (n_boot, units) arrays, not the whole grid's (a grid of 64 seeds
    # a leak has 2,016 pairs per leak; all of them at once took ~400 MB).
    num, den = np.zeros(n_boot), np.zeros(n_boot)
    for x in items:
        pick = rng.integers(0, x[0].size, (n_boot, x[0].size))
        f, err = shape(x[0])[pick], x[1][pick]
        num += (f * err).sum(1)
        den += (f * f).sum(1)
    cs = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    lo, hi = _interval(cs)
    return Theorem1Fit("unit", len(items), L.size, L_range, c, lo, hi, r2, a, b, r2_line)


def pair_L(L_a, L_b) -> np.ndarray:
    """A seed pair's L: the larger of its two models' L (Theorem 1 needs both decoders
    within (1+L)-bi-Lipschitz)."""
    return np.maximum(np.asarray(L_a, float), np.asarray(L_b, float))
