"""The guided lesson: six steps, a predict-then-reveal question each, and "what to notice".

Each ``notice_*`` turns the numbers on screen into one line: the claim with its numbers when
the data show it, "not here" with the numbers when they do not, "n/a" with the reason when
they cannot tell (NaN, too few points). Pure functions of floats and arrays; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nearid_core.science.fits import NA
from nearid_core.studies.claims import MIN_LEAKS, rank

ISO_TOL = 1e-3  # B ≤ 1 + this is an isometry: float Jacobians of an orthogonal map miss 1 by less
B_START_TOL = 0.01  # median B within 1% of 1 at the smallest leak: the near-linear decoder
LEAK_RHO = 0.8  # the warm-up's rank threshold (claims.RANK_MIN): B must rise almost in order
ROTATION_SHARE = 0.5  # rigid ≤ half of min(raw, perm): the rotation explains most of the gap
THEOREM_RHO = 0.7  # below 0.8: seed noise may swap neighbouring leaks of similar L
TREND_MIN_POINTS = 4  # with 3 points only a perfect order reaches 0.8; 4 let ρ say something
PARTIAL_BAND = (0.1, 0.9)  # efficiency strictly inside: ICA lands between perm and rigid
GAUSS_FAIL = 0.5  # median efficiency below this: ICA closes less than half of the gap
FREE_RHO = 0.5  # ρ(L, rigid error) below this: L no longer predicts the error
PAPER_FREE_RHO = -0.77  # the paper-scale measurement with a free decoder
PAPER_TABLE1 = "25–59%"  # ICA efficiencies of the paper's Table 1


@dataclass(frozen=True)
class Notice:
    """What to notice: ``holds`` True (the data show the claim), False (they do not) or None
    (cannot be judged); ``text`` the line with the numbers that decided it, or why not."""

    holds: bool | None
    text: str


@dataclass(frozen=True)
class Question:
    """A predict-then-reveal question; ``answer`` indexes the option the theory predicts."""

    text: str
    options: tuple[str, ...]
    answer: int


@dataclass(frozen=True)
class Step:
    """One lesson step: id, title, its question, and the ``notice_*`` functions it shows."""

    id: str
    title: str
    question: Question
    notices: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step("data", "The data and its factors", Question(
        "The data x = g(u) come from independent factors u through a generator that preserves "
        "distances. Which coordinates of x could be called 'the factors'?",
        ("Any invertible transform of u", "u up to a rotation (and a shift)",
         "Only u itself, axis by axis"), 1), ("notice_data",)),
    Step("leak", "An isometric decoder, and what the leak does to B(z)", Question(
        "The leak α sets the negative slope of every activation to 1 − α. As α grows from 0 to "
        "1, what happens to the decoder's local bi-Lipschitz constant B(z)?",
        ("It stays at 1", "It rises above 1: some directions are stretched more than others",
         "It falls below 1"), 1), ("notice_leak",)),
    Step("rotation", "Two seeds disagree — but only by a rotation", Question(
        "Two autoencoders differ only in their seed. At a small leak, which is the smallest "
        "kind of map that lines up seed B's latents with seed A's?",
        ("A signed permutation of the axes", "A rotation (rigid map)",
         "Only a general linear map", "No map: they are unrelated"), 1), ("notice_rotation",)),
    Step("theorem", "The error grows with L, as Theorem 1 says", Question(
        "Theorem 1 bounds the rigid error by c·sqrt(2L + L²)·Δ. For decoders with a larger L, "
        "what should the rigid error between seeds do?",
        ("Shrink", "Stay the same", "Grow"), 2), ("notice_theorem",)),
    Step("ica", "ICA removes the rotation and finds the factors", Question(
        "The encoder recovers independent non-Gaussian factors up to a rotation. What does ICA "
        "on its latents leave?",
        ("The same rotation: ICA cannot undo it", "Only a signed permutation",
         "Nothing: the factors in their true order and signs"), 1), ("notice_ica",)),
    Step("limits", "When ICA only partly helps, and when it fails", Question(
        "Now the factors are Gaussian. Can ICA undo the rotation?",
        ("Yes, as well as with Laplace factors",
         "No: rotated independent Gaussians are again independent Gaussians",
         "Only at a large leak"), 1),
        ("notice_partial", "notice_gaussian", "notice_free_decoder")),
)


def _g(x: float, fmt: str = ".3g") -> str:
    """3 significant digits ("n/a" when not finite)."""
    return format(x, fmt) if math.isfinite(x) else "n/a"


def _b(x: float) -> str:
    return _g(x, ".3f")  # B sits near 1, where 3 significant digits would hide the change


def _rho(x: float) -> str:
    return f"{x:.2f}".replace("-", "−")


def _missing(**values: float) -> str:
    """"" when every value is finite, else "n/a: <names> not a number"."""
    bad = [k for k, v in values.items() if not math.isfinite(float(v))]
    return f"n/a: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a number" if bad else ""


def _trend(x, y, x_name: str, y_name: str, min_n: int = TREND_MIN_POINTS):
    """Spearman ρ of the finite (x, y) pairs, the pairs sorted by x, and why ρ is n/a.

    Returns rho (nan when n/a), xs, ys ((n,) finite pairs sorted by x) and why ("" if defined).
    """
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{x_name} and {y_name} must have the same length: {x.size}, {y.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[ok], kind="stable")
    xs, ys = x[ok][order], y[ok][order]
    if xs.size < min_n:
        return NA, xs, ys, (f"n/a: only {xs.size} of {x.size} points have finite {x_name} and "
                            f"{y_name}, needs ≥ {min_n}")
    rho, _ = rank(xs, ys)
    if not math.isfinite(rho):
        flat = x_name if np.ptp(xs) == 0 else y_name
        return NA, xs, ys, f"n/a: {flat} is the same at every point, so ρ is undefined"
    return rho, xs, ys, ""


def notice_data(b_generator_max: float, kind: str, d_u: int) -> Notice:
    """Is the data's generator an isometry (its largest B at most ``1 + ISO_TOL``)?

    Parameters
    ----------
    b_generator_max : largest B of the generator over the points checked (sampled, so an
        isometry at those points, not certified).
    kind : the generator's name, as shown on screen.
    d_u : number of factors.
    """
    b = float(b_generator_max)
    if not math.isfinite(b):
        return Notice(None, f"{_missing(B=b)}: the generator's B was not measured")
    if b < 1 - ISO_TOL:
        return Notice(None, f"n/a: B = {_b(b)} is below 1, which a bi-Lipschitz constant "
                            "cannot be; the measurement is broken")
    if b <= 1 + ISO_TOL:
        return Notice(True, f"The generator (kind '{kind}', {d_u} factors) is an isometry: "
                            f"B = {_b(b)} at every point checked, so the factors u are the "
                            "data's own coordinates up to a rotation.")
    return Notice(False, f"The generator (kind '{kind}', {d_u} factors) has B up to {_b(b)} "
                         f"(an isometry has B = 1 within {ISO_TOL:g}), so it is not an "
                         "isometry: u are the data's coordinates only up to a distortion.")


def notice_leak(leaks, median_b) -> Notice:
    """Does median B start within ``B_START_TOL`` of 1 and rise with the leak (ρ ≥ ``LEAK_RHO``)?

    Parameters
    ----------
    leaks, median_b : (k,) the grid's leaks and the median B(z) of each (≥ 3 finite pairs).
    """
    rho, a, b, why = _trend(leaks, median_b, "leak", "median B", MIN_LEAKS)
    if why:
        return Notice(None, why)
    ends = (f"median B is {_b(b[0])} at α = {a[0]:g} and {_b(b[-1])} at α = {a[-1]:g} "
            f"(ρ = {_rho(rho)})")
    if abs(b[0] - 1) <= B_START_TOL and rho >= LEAK_RHO:
        return Notice(True, f"The decoder starts as an isometry and the leak bends it: {ends}.")
    if rho < LEAK_RHO:
        return Notice(False, f"Median B does not rise steadily with the leak here: {ends}; "
                             f"a steady rise needs ρ ≥ {_rho(LEAK_RHO)}.")
    return Notice(False, f"Median B rises with the leak, but it does not start at 1 here: "
                         f"{ends}; at the smallest leak it is more than "
                         f"{B_START_TOL:.0%} from 1.")


def notice_rotation(raw_error: float, perm_error: float, rigid_error: float,
                    leak: float) -> Notice:
    """How much of one seed pair's disagreement is a rotation: ``1 − rigid / min(raw, perm)``.

    Parameters
    ----------
    raw_error, perm_error, rigid_error : ℓ2 errors as is, after the best signed permutation
        and after the best rotation; holds when rigid ≤ ``ROTATION_SHARE`` × min(raw, perm).
    leak : the leak α of the pair.
    """
    if why := _missing(raw=raw_error, perm=perm_error, rigid=rigid_error):
        return Notice(None, why)
    base = min(raw_error, perm_error)
    if base <= 0:
        return Notice(None, f"n/a: the seeds already agree (error {_g(base)}), so there is "
                            "no disagreement to explain")
    share = max(0.0, 1 - rigid_error / base)
    head = (f"At α = {leak:g}, seed B is off by {_g(raw_error)} as is and {_g(perm_error)} "
            "after the best signed permutation, ")
    if rigid_error <= ROTATION_SHARE * base:
        return Notice(True, head + f"but only {_g(rigid_error)} after the best rotation: "
                                   f"{share:.0%} of the disagreement is a rotation.")
    return Notice(False, head + f"and still {_g(rigid_error)} after the best rotation: here "
                                f"the rotation explains only {share:.0%} of the disagreement "
                                f"(most means ≥ {ROTATION_SHARE:.0%}).")


def notice_theorem(L, rigid_error) -> Notice:
    """Does the rigid error grow with L (Spearman ρ ≥ ``THEOREM_RHO``)?

    Parameters
    ----------
    L, rigid_error : (k,) per leak; ≥ ``TREND_MIN_POINTS`` finite pairs. A rank trend, not a
        fit of sqrt(2L + L²).
    """
    rho, x, y, why = _trend(L, rigid_error, "L", "rigid error")
    if why:
        return Notice(None, why)
    ends = (f"{_g(y[0])} at the smallest L = {_g(x[0])}, {_g(y[-1])} at the largest "
            f"L = {_g(x[-1])}")
    if rho >= THEOREM_RHO:
        return Notice(True, f"The rigid error grows with L (ρ = {_rho(rho)}): {ends}, as "
                            "Theorem 1 says.")
    return Notice(False, f"The rigid error does not grow steadily with L here "
                         f"(ρ = {_rho(rho)}, needs ≥ {_rho(THEOREM_RHO)}): {ends}.")


def notice_ica(perm_error: float, ica_error: float, mcc_before: float,
               mcc_after: float) -> Notice:
    """Against the true factors, does ICA lower the error and raise MCC?

    Parameters
    ----------
    perm_error, ica_error : structural ℓ2 errors after the best signed permutation, and after
        ICA then the best signed permutation (means over the low leaks shown).
    mcc_before, mcc_after : MCC of the latents with the factors before and after ICA.
    """
    if why := _missing(perm=perm_error, ICA=ica_error, MCC_before=mcc_before,
                       MCC_after=mcc_after):
        return Notice(None, why)
    nums = (f"against the true factors, the error after the best signed permutation is "
            f"{_g(perm_error)}; after ICA {_g(ica_error)}, and MCC "
            f"{'rises' if mcc_after > mcc_before else 'goes'} from {mcc_before:.2f} to "
            f"{mcc_after:.2f}")
    if ica_error < perm_error and mcc_after > mcc_before:
        return Notice(True, f"ICA finds the factors: {nums}.")
    failed = [w for w, bad in (("the error did not fall", ica_error >= perm_error),
                               ("MCC did not rise", mcc_after <= mcc_before)) if bad]
    return Notice(False, f"ICA did not help here ({' and '.join(failed)}): {nums}.")


def _efficiencies(efficiencies) -> tuple[float, str]:
    """Median of the finite values (nan if none) and "median M (range a–b; n/a count)"."""
    e = np.asarray(efficiencies, float).ravel()
    ok = e[np.isfinite(e)]
    na = f"{e.size - ok.size} of {e.size} n/a: perm ≈ rigid" if ok.size < e.size else ""
    if not ok.size:
        return NA, f"n/a: no ICA efficiency to judge ({na or 'none given'})"
    summary = f"median {np.median(ok):.0%} (range {ok.min():.0%}–{ok.max():.0%}"
    return float(np.median(ok)), summary + (f"; {na})" if na else ")")


def notice_partial(efficiencies) -> Notice:
    """Does ICA land between the raw axes and the best rotation (median in ``PARTIAL_BAND``)?

    Parameters
    ----------
    efficiencies : (k,) ICA efficiencies ``(perm − ica) / (perm − rigid)`` per leak or pair at
        α ≥ 0.4 on 4 Laplace factors; NaN (perm ≈ rigid) are excluded and counted.
    """
    med, summary = _efficiencies(efficiencies)
    lo, hi = PARTIAL_BAND
    if not math.isfinite(med):
        return Notice(None, summary)
    closes = f"it closes a {summary} of the gap from permutation to rotation"
    if lo < med < hi:
        return Notice(True, f"ICA only partly helps: {closes}, as in the paper's Table 1 "
                            f"({PAPER_TABLE1}).")
    return Notice(False, f"ICA {'fully helps' if med >= hi else 'does not help'} here: {closes}.")


def notice_gaussian(perm_error: float, ica_error: float, rigid_error: float) -> Notice:
    """With Gaussian factors, does ICA fail to find them (against u, at small leaks)?

    Parameters
    ----------
    perm_error, ica_error, rigid_error : structural ℓ2 errors against the true factors
        (means over the small leaks shown), after the best signed permutation, after ICA,
        after the best rotation.

    Notes
    -----
    ``holds`` means ICA fails: its error closes less than ``GAUSS_FAIL`` of the gap from
    the raw axes (perm) to the best rotation, or is above perm. Said with the errors, not
    as a ratio: with Gaussian factors perm and rigid are often close, and their ratio is noise.
    """
    missing = _missing(perm=perm_error, ica=ica_error, rigid=rigid_error)
    if missing:
        return Notice(None, missing)
    nums = (f"against the true factors ICA leaves an error of {_g(ica_error)}, where the raw "
            f"axes leave {_g(perm_error)} and the best rotation {_g(rigid_error)}")
    if ica_error > perm_error - GAUSS_FAIL * (perm_error - rigid_error):
        return Notice(True, "With Gaussian factors ICA has nothing to find (a rotation of "
                            f"independent Gaussians is again independent Gaussian): {nums}.")
    return Notice(False, f"Here ICA still helped with Gaussian factors: {nums}. With finite "
                         "samples and a curved decoder the latents are never exactly Gaussian, "
                         "and ICA can lock onto that structure.")


def notice_free_decoder(L, rigid_error) -> Notice:
    """With a free decoder, does L stop predicting the rigid error (ρ < ``FREE_RHO``)?

    Parameters
    ----------
    L, rigid_error : (k,) per leak (or seed pair); ≥ ``TREND_MIN_POINTS`` finite pairs.
        ``holds`` means "L does not predict the error here".
    """
    rho, _, _, why = _trend(L, rigid_error, "L", "rigid error")
    if why:
        return Notice(None, why)
    paper = f"the paper-scale measurement was ρ = {_rho(PAPER_FREE_RHO)}"
    if rho < FREE_RHO:
        return Notice(True, f"With a free decoder the leak does not control L, and L does not "
                            f"predict the error here (ρ = {_rho(rho)}); {paper}.")
    return Notice(False, f"On this run L still tracks the error (ρ = {_rho(rho)}, "
                         f"≥ {_rho(FREE_RHO)}) even with a free decoder; {paper}.")
