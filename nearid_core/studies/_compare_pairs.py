"""Scoring every pair of embeddings on one fit/eval split, and over re-drawn splits.

Per split, each embedding is centred once (its Gram matrix too), and each unordered pair
costs one cross product, one SVD and three eval products for the perm, rigid and linear maps
of both directions. ICA reuses the unmixings fitted on the main split (``_compare_prep``).
"""

from __future__ import annotations

import itertools

import numpy as np

from nearid_core.science.kernels import split_fit_eval
from nearid_core.studies._compare_kernels import (
    Fitted,
    Side,
    linear,
    make_side,
    perm,
    perm_both,
    rigid_both,
)
from nearid_core.studies._compare_prep import Prepared

__all__ = ["GROUPS", "boot_seeds", "common_key", "full_sides", "score_split", "split_means",
           "stack"]

GROUPS = ("perm", "rigid", "linear", "ica")


def common_key(pa: Prepared, pb: Prepared):
    """View that perm and rigid use: raw rows for equal widths, else the top-k PCs."""
    return "full" if pa.width == pb.width else min(pa.width, pb.width)


def boot_seeds(seed: int, n_boot: int) -> list[int]:
    """Seeds of the re-drawn splits, derived from ``seed`` (never equal to it by design)."""
    return [int(s) for s in np.random.SeedSequence([seed, 1]).generate_state(n_boot)]


def full_sides(preps_or_arrays, fit: np.ndarray, ev: np.ndarray) -> list[Side]:
    """Raw rows of each embedding centred on this split, with their Gram matrices."""
    return [make_side(getattr(p, "X", p), fit, ev, gram=True) for p in preps_or_arrays]


def _sides(preps: list[Prepared], fit: np.ndarray, ev: np.ndarray, full=None) -> dict:
    """Every view that some pair needs, centred on this split: (name, key) -> Side."""
    full = full_sides(preps, fit, ev) if full is None else full
    out = {(p.name, "full"): side for p, side in zip(preps, full, strict=True)}
    for p in preps:
        if p.sources is not None:
            out[p.name, "ica"] = make_side(p.sources, fit, ev, gram=False)
    for pa, pb in itertools.combinations(preps, 2):
        key = common_key(pa, pb)
        for p in (pa, pb):
            if key != "full" and (p.name, key) not in out:
                out[p.name, key] = make_side(p.coords(key), fit, ev, gram=False)
    return out


def _ica_perms(a: Side, b: Side) -> tuple[Fitted, Fitted]:
    cross = b.fit.T @ a.fit  # (d_b, d_a)
    return perm(a, b, cross), perm(b, a, cross.T)


def _score_pair(sides: dict, pa: Prepared, pb: Prepared) -> dict:
    """All groups for (pa ref, pb candidate) and (pb ref, pa candidate) on one split."""
    a, b = sides[pa.name, "full"], sides[pb.name, "full"]
    cross = b.fit.T @ a.fit  # (d_b, d_a): the one n-sized product of the pair
    ab, ba = {"linear": linear(a, b, cross)}, {"linear": linear(b, a, cross.T)}
    key = common_key(pa, pb)
    if key != "full":
        a, b = sides[pa.name, key], sides[pb.name, key]
        cross = b.fit.T @ a.fit  # (k, k)
    ab["perm"], ba["perm"] = perm_both(a, b, cross)
    ab["rigid"], ba["rigid"] = rigid_both(a, b, cross)
    if (pa.name, "ica") in sides and (pb.name, "ica") in sides:
        ab["ica"], ba["ica"] = _ica_perms(sides[pa.name, "ica"], sides[pb.name, "ica"])
    return {(pa.name, pb.name): ab, (pb.name, pa.name): ba}


def score_split(preps: list[Prepared], fit: np.ndarray, ev: np.ndarray,
                full: list[Side] | None = None) -> dict:
    """``(ref, cand) -> group -> Fitted`` for every ordered pair on one split.

    ``full``: the ``full_sides`` of this split when already computed (the main split's).
    """
    sides = _sides(preps, fit, ev, full)
    out = {}
    for pa, pb in itertools.combinations(preps, 2):
        out.update(_score_pair(sides, pa, pb))
    return out


def split_means(preps: list[Prepared], seed: int) -> dict:
    """One re-drawn split: ``(ref, cand) -> group -> mean eval residual norm``.

    Every map is refitted on the split's fit rows and scored on its eval rows; the ICA
    unmixings stay those of the main split.
    """
    scores = score_split(preps, *split_fit_eval(preps[0].X.shape[0], seed=seed))
    return {pair: {g: float(f.norms.mean()) for g, f in groups.items()}
            for pair, groups in scores.items()}


def stack(splits: list[dict]) -> dict:
    """``split_means`` of every split -> ``(ref, cand) -> group -> (n_splits,)`` (NaN: absent)."""
    out: dict = {}
    for b, means in enumerate(splits):
        for pair, groups in means.items():
            per = out.setdefault(pair, {g: np.full(len(splits), np.nan) for g in GROUPS})
            for g, value in groups.items():
                per[g][b] = value
    return out
