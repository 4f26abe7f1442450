"""Compare study: the paper's Table-1 row for every ordered pair of the user's embeddings.

Given embeddings of the same inputs (rows in the same order), report for reference A and
candidate B the normalised l2 errors under signed permutations, rigid maps, linear maps and
ICA (PAPER.md §3), the guarded ICA efficiency (``efficiency.guarded``), percentile intervals
over re-drawn fit/eval splits, and linear CKA and the angular Procrustes distance as familiar
references. Pieces: ``_compare_config`` (config), ``_compare_prep`` (PCA, ICA per embedding),
``_compare_kernels`` and ``_compare_pairs`` (maps on a split), ``_compare_rows`` (rows),
``_compare_extras`` (factors, labels, overlay), ``_compare_result`` (result, exports).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from functools import partial

import numpy as np

from nearid_core.science.kernels import check_rows, split_fit_eval
from nearid_core.science.similarity import cka_and_angle
from nearid_core.studies import _compare_notes as notes_
from nearid_core.studies._compare_config import CI_LEVEL, MIN_LABEL_ROWS, CompareConfig
from nearid_core.studies._compare_extras import (
    check_factors,
    check_labels,
    label_rows,
    overlay_points,
    truth_scores,
)
from nearid_core.studies._compare_pairs import (
    GROUPS,
    boot_seeds,
    common_key,
    score_split,
    split_means,
    stack,
)
from nearid_core.studies._compare_prep import fit_ica_on, prepare
from nearid_core.studies._compare_result import TABLE_COLUMNS, CompareResult
from nearid_core.studies._compare_rows import normalisers, pair_row, raw_maps
from nearid_core.studies._compare_tasks import run_tasks

__all__ = [
    "CI_LEVEL", "GROUPS", "MIN_LABEL_ROWS", "TABLE_COLUMNS", "CompareConfig", "CompareResult",
    "compare", "overlay",
]

Progress = Callable[[float, str], None]
DEFAULT_CONFIG = CompareConfig()


def _check(embeddings) -> tuple[tuple[str, ...], list[np.ndarray]]:
    if not isinstance(embeddings, Mapping) or len(embeddings) < 2:
        count = len(embeddings) if isinstance(embeddings, Mapping) else type(embeddings).__name__
        raise ValueError(f"compare needs a mapping of at least 2 named embeddings, got {count}")
    names = tuple(str(k) for k in embeddings)
    if len(set(names)) != len(names):
        raise ValueError(f"embedding names must be distinct as text, got {list(names)}")
    arrays = [check_rows(X, name=f"embedding {name!r}") for name, X in zip(
        names, embeddings.values(), strict=True)]
    if len({X.shape[0] for X in arrays}) != 1:
        shapes = ", ".join(f"{name} {X.shape}" for name, X in zip(names, arrays, strict=True))
        raise ValueError("embeddings must hold the same inputs in the same order (same number "
                         f"of rows): got {shapes}")
    return names, arrays


def _prepare_all(names, arrays, fit, ev, config, workers, report):
    """Prepared embeddings (PCA, ICA) and their main-split Sides, in input order."""
    prepared = run_tasks(
        {name: partial(prepare, name, X, fit, ev, config) for name, X in zip(
            names, arrays, strict=True)},
        workers=workers, report=report, span=(0.0, 0.1), label=lambda k: f"PCA of {k}")
    preps = [prepared[name][0] for name in names]
    for i, p in enumerate(preps):  # one at a time: fit_ica is not thread-safe
        report(0.1 + 0.2 * i / len(preps), f"ICA of {p.name}")
        fit_ica_on(p, fit, config)
    return preps, [prepared[name][1] for name in names]


def _views(preps) -> set:
    """(name, view) of every diameter the rows need; materialises shared PC views first."""
    keys = set()
    for pa, pb in itertools.permutations(preps, 2):
        key = common_key(pa, pb)
        keys |= {(pa.name, "full")} | ({(pa.name, "ica")} if pa.sources is not None else set())
        if key != "full":
            pa.coords(key)  # cached before threads share it
            keys.add((pa.name, key))
    return keys


def _run(preps, sides, fit, ev, config, workers, report):
    """Main split, diameters, CKA/angle and re-drawn splits, as independent tasks."""
    by_name = {p.name: p for p in preps}
    tasks = {("main",): partial(score_split, preps, fit, ev, sides)}
    for name, key in _views(preps):
        tasks["diameter", name, key] = partial(by_name[name].diameter, key, ev, config)
    for pa, pb in itertools.combinations(preps, 2):
        tasks["similarity", pa.name, pb.name] = partial(cka_and_angle, pa.X, pb.X)
    for b, seed in enumerate(boot_seeds(config.seed, config.n_boot)):
        tasks["split", b] = partial(split_means, preps, seed)
    out = run_tasks(tasks, workers=workers, report=report, span=(0.3, 0.95), label=_label)
    sims = {k[1:]: v for k, v in out.items() if k[0] == "similarity"}
    boot = stack([out["split", b] for b in range(config.n_boot)]) if config.n_boot else None
    return out["main",], sims, boot


def _label(key) -> str:
    return {"main": "maps on the main split", "diameter": f"diameter of {key[1:]}",
            "similarity": f"CKA and angle of {key[1:]}",
            "split": "a re-drawn split"}[key[0]]


def _rows(preps, main, boot, sims, ev, config, n_fit):
    """Rows, maps and normalisers of every ordered pair."""
    rows, maps, norms = [], {}, {}
    for pa, pb in itertools.permutations(preps, 2):
        pair = (pa.name, pb.name)
        norms[pair] = normalisers(pa, pb, ev, config)
        row = pair_row(pa, pb, main[pair], None if boot is None else boot[pair],
                       norms[pair], n_fit)
        row["cka"], row["procrustes_angle"] = sims.get(pair) or sims[pair[::-1]]
        rows.append(row)
        maps[pair] = raw_maps(pa, pb, main[pair])
    return rows, maps, norms


def compare(embeddings: Mapping[str, np.ndarray], config: CompareConfig = DEFAULT_CONFIG,
            *, factors: np.ndarray | None = None, labels: np.ndarray | None = None,
            on_progress: Progress | None = None, workers: int = 2) -> CompareResult:
    """Table-1 errors, intervals, ICA efficiency, CKA and angle for every ordered pair.

    Parameters
    ----------
    embeddings : mapping of name -> array of shape (n_samples, d_k)
        At least two embeddings of the same inputs, rows in the same order; widths may
        differ. Finite float arrays (an upload layer is expected to enforce n >= 4 d).
    config : CompareConfig
        Seed, re-drawn splits, ICA and diameter settings.
    factors : array of shape (n_samples, d_u), optional
        Ground-truth factors: ``truth`` gets disentanglement scores of each embedding's raw
        axes and of its ICA sources (slow for wide embeddings: InfoMEC and DCI per latent).
    labels : array of shape (n_samples,), optional
        Discrete labels: ``per_label`` gets each pair's errors on each label's eval rows
        (labels with fewer than ``MIN_LABEL_ROWS`` eval rows are skipped, with a note).
    on_progress : callable (fraction in [0, 1], message), optional
        Called between stages and after each re-drawn split; raise from it to cancel.
    workers : int, default=2
        Threads for the re-drawn splits (with one BLAS thread each, one per core); the
        result does not depend on it.

    Returns
    -------
    CompareResult
        ``rows`` hold, per ordered pair: ``a``, ``b``, ``d_a``, ``d_b``, ``k_common``; the
        errors ``perm``, ``rigid``, ``linear``, ``ica`` with ``<group>_lo``/``_hi``; ``gap_se``,
        ``ica_efficiency``, ``ica_efficiency_note``, ``ica_vs_linear``; ``cka``,
        ``procrustes_angle``; ``diameter`` (raw A), ``diameter_common`` (perm/rigid),
        ``diameter_ica``, ``diameter_exact``; ``ica_converged``, ``ica_components_a``/``_b``,
        ``n_fit``, ``n_eval``.

    Notes
    -----
    Point estimates are exactly ``alignment.align``'s protocol on the split of ``seed``
    (equal widths give the same numbers). Different widths: perm and rigid compare the top
    k = min(d_a, d_b) principal components of each side (PCA on the fit rows), divided by
    the diameter of A's top-k scores; linear maps all of B to all of A. ICA runs on the
    stated principal components of each side (raw coordinates when all are kept).
    Intervals come from ``n_boot`` re-drawn seeded splits: each refits perm, rigid and
    linear, but reuses the main split's PCA, ICA unmixings and diameters (so they omit
    FastICA's and the diameter's own variability, and the ICA one is scored partly on rows
    ICA was fitted on). ``<group>_lo``/``_hi`` are the point estimate plus the 5th/95th
    percentiles (``CI_LEVEL`` = 90%) of the resample values minus their median: the
    split-to-split spread placed around the reported number, which it always contains; with
    few splits (default 5) it is close to their range. ``gap_se`` (the noise for the
    efficiency guard) is the standard deviation of perm - rigid over those splits. CKA and
    the angle use all rows and fit no map. Cost per re-drawn split: about five
    n/2 x d x d products per pair (Grams, cross product, three eval products) and one
    d x d SVD and Hungarian matching per pair.
    """
    names, arrays = _check(embeddings)
    n = arrays[0].shape[0]
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    labels = None if labels is None else check_labels(labels, n)
    factors = None if factors is None else check_factors(factors, n)
    report = on_progress or (lambda fraction, message: None)
    fit, ev = split_fit_eval(n, seed=config.seed)
    preps, sides = _prepare_all(names, arrays, fit, ev, config, workers, report)
    main, sims, boot = _run(preps, sides, fit, ev, config, workers, report)
    del sides  # the main split's (n, d) copies
    rows, maps, norms = _rows(preps, main, boot, sims, ev, config, fit.size)
    notes = notes_.general(config, preps, rows, ev.size)
    per_label, label_notes = ([], []) if labels is None else label_rows(labels, ev, main, norms)
    truth = {} if factors is None else truth_scores(preps, factors, config.seed)
    report(1.0, "done")
    return CompareResult(
        names=names, config=config, rows=rows,
        ica_components={p.name: p.ica_k for p in preps},
        ica_details={p.name: notes_.ica_detail(p) for p in preps},
        notes=notes + label_notes, maps=maps,
        ica_maps={p.name: (p.ica_view.matrix, p.ica_view.offset)
                  for p in preps if p.ica_view is not None},
        truth=truth, per_label=per_label,
    )


def overlay(A, B, group: str, result_or_map, *, pair: tuple[str, str] | None = None,
            max_points: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A's points and B's mapped points in the top-2 principal plane of the target.

    Parameters
    ----------
    A : array-like of shape (n_samples, d_a)
        The reference's raw rows.
    B : array-like of shape (n_samples, d_b)
        The candidate's raw rows.
    group : {"perm", "rigid", "linear", "ica"}
    result_or_map : CompareResult or tuple (matrix (d_b, d_t), offset (d_t,))
        A result (then ``pair=(a, b)`` names the maps) or a map of raw B rows into A's space.
    pair : tuple of two str, optional
        Reference and candidate names, with a CompareResult.
    max_points : int, default=2000
        A seeded subsample of at most this many rows (the same rows on both sides).
    seed : int, default=0

    Returns
    -------
    pa, pb : ndarrays of shape (m, 2)
        Target rows (A, or ICA(A) for "ica") and mapped B rows, projected on the target's
        top-2 principal axes of the subsample, both centred by the target's mean.

    Notes
    -----
    A picture of one fitted map on all rows (fit and eval alike): coinciding points mean a
    small error in these two directions only; the error itself is in the rows.
    """
    A, B = check_rows(A, name="A"), check_rows(B, name="B")
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    target = A
    if isinstance(result_or_map, CompareResult):
        if pair is None or tuple(pair) not in result_or_map.maps:
            raise ValueError(f"pair must name an ordered pair of the result, got {pair!r}")
        if group not in result_or_map.maps[tuple(pair)]:
            raise ValueError(f"no {group!r} map for {pair}: see the result's notes")
        matrix, offset = result_or_map.maps[tuple(pair)][group]
        if group == "ica":
            ica_matrix, ica_offset = result_or_map.ica_maps[pair[0]]
            target = A @ ica_matrix + ica_offset  # (n, k_a): ICA(A)
    else:
        matrix, offset = result_or_map
    mapped = B @ np.asarray(matrix) + np.asarray(offset)  # (n, d_t)
    target = np.hstack([target, np.zeros((target.shape[0], mapped.shape[1] - target.shape[1]))])
    return overlay_points(target, mapped, max_points=max_points, seed=seed)

