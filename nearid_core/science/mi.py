"""k-NN mutual information between continuous features and discrete labels, vectorised.

The same numbers as scikit-learn's ``mutual_info_classif(X, y, discrete_features=False)``
(Ross 2014 estimator, sklearn 1.9 ``_compute_mi_cd``), without its per-label
``NearestNeighbors`` and per-column ``KDTree``: in one dimension a neighbour search is a
sort, a window and a ``searchsorted``. The noisy, scaled features are made by sklearn's own
``scale`` and ``check_random_state``, so they are bit-identical to sklearn's.

How each neighbour search of sklearn is reproduced (one column ``x``, one label ``c``):

- k-th neighbour within a label of ``count`` points, ``k = min(n_neighbors, count - 1)``.
  sklearn's ``NearestNeighbors(algorithm="auto")`` picks brute force when
  ``k >= count // 2`` and a KDTree otherwise. The KDTree ranks ``fl(x_i - x_j)**2``, which is
  monotone in the sorted order, so the k-th neighbour is among the k nearest on each side
  (``_kth_gap``). Brute force ranks the GEMM expansion
  ``max(0, (x_i**2 + (-2 x_i x_j)) + x_j**2)``, which is not monotone, so small labels take
  all pairs with that very expression (``_kth_gemm``). Both then take ``sqrt`` and
  ``nextafter(., 0)``.
- ``m`` = points of any kept label within that radius. The KDTree tests
  ``fl(x_i - x_j)**2 <= fl(r**2)`` at leaves and ``|x_i - x_j| <= r`` at nodes (through
  ``pow(pow(b, 2), 0.5)``, which returned ``b`` on all of 1e6 random floats with glibc);
  squaring is strictly increasing on floats whose squares are normal, so both tests are
  ``|fl(x_i - x_j)| <= r``, counted with ``searchsorted`` and checked (a step or a
  bisection where rounding moved the edge).

All (label column, feature) pairs are rows of one batch; memory is O(k n) per pair.
"""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import digamma
from sklearn.preprocessing import scale
from sklearn.utils import check_random_state

__all__ = ["mutual_info_cd", "mutual_info_cd_many"]

_LOCAL_STEPS = 3  # edge corrections tried before bisecting
_MAX_ELEMENTS = 1 << 22  # bound on (2k+1) * pairs * rows held at once


def mutual_info_cd(X, y, *, n_neighbors: int = 3, random_state=None) -> np.ndarray:
    """Mutual information between each continuous column of ``X`` and discrete labels ``y``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Continuous features; finite, at least 2 rows.
    y : array-like of shape (n_samples,)
        Discrete labels (integers, strings, or integer-valued floats).
    n_neighbors : int, default=3
        k of the k-NN estimator (at least 1).
    random_state : int, RandomState instance or None, default=None
        Seed of the 1e-10-scale noise that sklearn adds to break ties.

    Returns
    -------
    mi : ndarray of shape (n_features,)
        Estimated mutual information in nats, clipped at 0; the same numbers as
        ``sklearn.feature_selection.mutual_info_classif(X, y, discrete_features=False,
        n_neighbors=n_neighbors, random_state=random_state)``.

    Notes
    -----
    Equal to sklearn's (1.9) value bit for bit, except where a distance between two noisy,
    scaled values, or a radius, is below about 1e-154 but not 0 (its square is not a
    normal float), which sklearn's scaling and 1e-10 noise make practically impossible.
    Checked against sklearn 1.9.1 on 200 hard random inputs (tests/core/test_mi.py). The
    number is an estimate: noisy at the 1/sqrt(n) level, biased for small k.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
    return mutual_info_cd_many(X, y[:, None], n_neighbors=n_neighbors,
                               random_state=random_state)[0]


def mutual_info_cd_many(X, Y, *, n_neighbors: int = 3, random_state=None) -> np.ndarray:
    """Mutual information of each column of ``X`` with each label column of ``Y``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Continuous features; finite, at least 2 rows.
    Y : array-like of shape (n_samples, n_label_columns)
        One discrete labelling per column.
    n_neighbors : int, default=3
        k of the k-NN estimator (at least 1).
    random_state : int, RandomState instance or None, default=None
        Seed of the tie-breaking noise. The noisy ``X`` is drawn once and shared by all
        label columns, as separate sklearn calls with the same int seed would draw it.

    Returns
    -------
    mi : ndarray of shape (n_label_columns, n_features)
        Row ``i`` equals ``mutual_info_cd(X, Y[:, i], ...)``.

    Notes
    -----
    With an int seed, row ``i`` is bit-identical to sklearn's
    ``mutual_info_classif(X, Y[:, i], ...)`` (same caveat as ``mutual_info_cd``). With
    ``None`` or a RandomState instance the noise is drawn once, not once per column.
    """
    X = _check_features(X)
    Y = _check_label_columns(Y, X.shape[0])
    _check_n_neighbors(n_neighbors)
    k = int(n_neighbors)
    Z = np.ascontiguousarray(_noisy_scaled(X, random_state).T)  # (d, n): one row a feature
    order = np.argsort(Z, axis=1, kind="stable")  # (d, n): each row ascending
    zs = np.take_along_axis(Z, order, axis=1)  # (d, n) sorted values
    labels = _encode(Y, k)
    d = X.shape[1]
    pair_lab, pair_feat = np.divmod(np.arange(Y.shape[1] * d), d)  # rows of the result
    mean_psi_m = np.empty(pair_lab.size)
    step = max(1, _MAX_ELEMENTS // ((2 * k + 1) * X.shape[0]))  # pairs per block
    for lo in range(0, pair_lab.size, step):
        lab, feat = pair_lab[lo:lo + step], pair_feat[lo:lo + step]
        mean_psi_m[lo:lo + step] = _mean_digamma_m(zs[feat], order[feat], lab, labels, k)
    mi = labels.const[pair_lab] - mean_psi_m  # sklearn's association, last term last
    return np.maximum(mi, 0.0).reshape(Y.shape[1], d)


def _check_features(X) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X needs at least 2 rows and 1 column, got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.iscomplexobj(X):
        raise ValueError(f"X must be real-valued, got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite: it holds NaN or infinite values")
    return X


def _check_label_columns(Y, n_samples: int) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[0] != n_samples or Y.shape[1] < 1:
        raise ValueError(f"labels must have shape ({n_samples}, n_label_columns >= 1) to "
                         f"match X's {n_samples} rows, got shape {Y.shape}")
    if np.issubdtype(Y.dtype, np.floating):
        if not np.all(np.isfinite(Y)):
            raise ValueError("labels must be finite: they hold NaN or infinite values")
        if np.any(Y != np.round(Y)):
            raise ValueError("labels must be discrete: float labels must be whole numbers")
    return Y


def _check_n_neighbors(n_neighbors) -> None:
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, Integral) \
            or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be an integer >= 1, got {n_neighbors!r}")


def _noisy_scaled(X: np.ndarray, random_state) -> np.ndarray:
    """sklearn's ``_estimate_mi`` preprocessing, statement for statement (bit-identical)."""
    rng = check_random_state(random_state)
    n_samples, n_features = X.shape
    continuous_mask = np.ones(n_features, dtype=bool)
    X = X.astype(np.float64, copy=True)
    X[:, continuous_mask] = scale(X[:, continuous_mask], with_mean=False, copy=False)
    means = np.maximum(1, np.mean(np.abs(X[:, continuous_mask]), axis=0))
    X[:, continuous_mask] += (
        1e-10 * means * rng.standard_normal(size=(n_samples, np.sum(continuous_mask)))
    )
    return X


class _Labels(NamedTuple):
    """Labels of all label columns, numbered globally (column i's after column i-1's)."""

    codes: np.ndarray  # (n_label_columns, n) global label of each row
    counts: np.ndarray  # (n_labels,) members
    starts: np.ndarray  # (n_labels,) first position of the label in its column's sort
    owner: np.ndarray  # (n_labels,) label column
    keep: np.ndarray  # (n_label_columns, n) rows whose label has another member
    const: np.ndarray  # (n_label_columns,) digamma(n) + mean psi(k) - mean psi(count)


def _encode(Y: np.ndarray, k: int) -> _Labels:
    """Global label codes and sklearn's label-only terms, one label column at a time."""
    codes, counts, owner, keep, const = [], [], [], [], []
    for i, y in enumerate(Y.T):
        _, c, n_c = np.unique(y, return_inverse=True, return_counts=True)
        codes.append(c.reshape(-1) + sum(len(a) for a in counts))
        counts.append(n_c)
        owner.append(np.full(n_c.size, i))
        label_counts = n_c[c.reshape(-1)].astype(np.float64)  # (n,) as sklearn's
        kept = label_counts > 1
        if not kept.any():
            raise ValueError(f"label column {i}: every label has a single member, "
                             "so MI is undefined")
        k_all = np.minimum(k, label_counts - 1)
        keep.append(kept)
        const.append(digamma(np.sum(kept)) + np.mean(digamma(k_all[kept]))
                     - np.mean(digamma(label_counts[kept])))
    starts = [np.cumsum(n_c) - n_c for n_c in counts]
    return _Labels(np.stack(codes), np.concatenate(counts), np.concatenate(starts),
                   np.concatenate(owner), np.stack(keep), np.array(const))


def _mean_digamma_m(zs, order, lab, labels: _Labels, k: int) -> np.ndarray:
    """(b,) sklearn's ``mean(digamma(m))`` for b (feature, label column) pairs.

    ``zs`` and ``order`` are (b, n): each pair's feature sorted, and its rows.
    """
    codes = np.take_along_axis(labels.codes[lab], order, axis=1)  # (b, n) in value order
    radius = _knn_radius(zs, codes, lab, labels, k)  # (b, n) in value order
    keep = labels.keep[lab]  # (b, n)
    m = _count_within(zs, order, keep, radius)  # (b, n) in row order
    # one 1-D mean per pair over its kept rows in row order: sklearn's summation order
    return np.array([np.mean(digamma(m_p[keep_p])) for m_p, keep_p in zip(m, keep, strict=True)])


def _knn_radius(zs, codes, lab, labels: _Labels, k: int) -> np.ndarray:
    """(b, n) ``nextafter(distance to the k-th neighbour in the label, 0)``, in value order.

    0 for points alone in their label (sklearn drops them). A label is searched as
    sklearn's ``NearestNeighbors`` would: by a KDTree (sorted window) when
    ``min(k, count - 1) < count // 2``, else by brute force (GEMM expansion).
    """
    small = np.uint16 if labels.counts.size <= 1 << 16 else np.intp  # radix sort
    grouped = np.argsort(codes.astype(small), axis=1, kind="stable")  # (b, n)
    xs = np.take_along_axis(zs, grouped, axis=1)  # (b, n): by label, then by value
    label_of = np.take_along_axis(codes, grouped, axis=1)  # (b, n) ascending
    counts = labels.counts
    k_label = np.minimum(k, counts - 1)
    brute = (counts > 1) & (k_label >= counts // 2)
    dist = np.zeros(xs.shape)  # (b, n) in label order
    tree = ((counts > 1) & ~brute)[label_of]  # (b, n)
    if tree.any():
        dist[tree] = _kth_gap(xs, label_of, k)[tree]
    row, label = np.nonzero(lab[:, None] == labels.owner[brute][None, :])
    label = np.flatnonzero(brute)[label]  # (pairs,) each brute label in each of its rows
    for size in np.unique(counts[label]):  # equal sizes batch without padding
        r, g = row[counts[label] == size], label[counts[label] == size]
        pos = labels.starts[g][:, None] + np.arange(size)  # (G, size)
        dist[r[:, None], pos] = _kth_gemm(xs[r[:, None], pos], int(k_label[g[0]]))
    radius = np.empty(xs.shape)
    np.put_along_axis(radius, grouped, np.nextafter(dist, 0), axis=1)
    return radius


def _kth_gap(xs: np.ndarray, label_of: np.ndarray, k: int) -> np.ndarray:
    """(b, n) KDTree's k-th neighbour distance ``sqrt(fl(x_i - x_j)**2)`` within the label.

    Each row of ``xs`` is sorted by label, then value. ``|fl(x_i - x_j)|`` grows with the
    distance in sorted order on each side, so point ``p`` and its k nearest form a run of
    k + 1 neighbours in ``xs[p - k : p + k + 1]``: the k-th distance is the smallest, over
    those runs, of the larger gap at their two ends (inf for labels of at most k members,
    which are brute-force labels).
    """
    b, n = xs.shape
    padded = np.full((b, n + 2 * k), np.inf)
    padded[:, k:k + n] = xs
    lab = np.full((b, n + 2 * k), -1)
    lab[:, k:k + n] = label_of
    win = np.moveaxis(sliding_window_view(padded, 2 * k + 1, axis=1), 2, 0)  # (2k+1, b, n)
    win_lab = np.moveaxis(sliding_window_view(lab, 2 * k + 1, axis=1), 2, 0)
    # In place: fresh (2k+1, b, n) temporaries cost more in page faults than in arithmetic.
    gap = np.subtract(xs, win)  # (2k+1, b, n); gap[k] is the point itself
    np.abs(gap, out=gap)
    np.copyto(gap, np.inf, where=win_lab != label_of)
    kth = np.maximum(gap[:k + 1], gap[k:], out=gap[:k + 1]).min(axis=0)  # (b, n)
    return np.sqrt(kth * kth)


def _kth_gemm(v: np.ndarray, k: int) -> np.ndarray:
    """(G, size) brute-force k-th neighbour distance, as sklearn's ``EuclideanArgKmin``.

    ``v`` is (G, size), one label per row. The squared distance is
    ``max(0, (x_i**2 + (-2 x_i x_j)) + x_j**2)`` summed in that order (in 1-D the GEMM
    term ``-2 * fl(x_i x_j)`` is exact); the point itself scores exactly 0, so the k-th
    other neighbour is the (k+1)-th smallest of the row.
    """
    sq = v * v  # (G, s)
    out = np.empty(v.shape)
    step = max(1, _MAX_ELEMENTS // v.size)  # query points per chunk
    for lo in range(0, v.shape[1], step):
        i = slice(lo, lo + step)
        d2 = np.multiply(v[:, i, None], v[:, None, :])  # (G, step, s)
        d2 *= -2.0
        np.add(sq[:, i, None], d2, out=d2)
        d2 += sq[:, None, :]
        np.maximum(d2, 0.0, out=d2)
        out[:, i] = np.sqrt(np.partition(d2, k, axis=2)[:, :, k])
    return out  # (G, s)


def _count_within(zs, order, keep, radius) -> np.ndarray:
    """(b, n) number of kept points ``j`` with ``|fl(x_i - x_j)| <= r_i``, self included.

    ``zs`` and ``radius`` are in value order (``searchsorted`` is fastest on sorted
    queries), ``keep`` in row order; the counts come back in row order.
    """
    kept_before = np.zeros((zs.shape[0], zs.shape[1] + 1), dtype=np.intp)  # (b, n+1)
    np.cumsum(np.take_along_axis(keep, order, axis=1), axis=1, out=kept_before[:, 1:])
    # sides chosen so that a k-th neighbour one ulp beyond the radius is rarely a miss
    upto = np.stack([np.searchsorted(zs[p], zs[p] + radius[p], side="left")
                     for p in range(zs.shape[0])])
    below = np.stack([np.searchsorted(zs[p], zs[p] - radius[p], side="right")
                      for p in range(zs.shape[0])])
    upto = _leading_true(zs, radius, _within_above, upto)
    below = _leading_true(zs, radius, _beyond_below, below)
    m = np.empty(zs.shape, dtype=np.intp)  # (b, n)
    np.put_along_axis(m, order, np.take_along_axis(kept_before, upto, 1)
                      - np.take_along_axis(kept_before, below, 1), axis=1)
    return m


def _within_above(s_q, v, r):
    """True for ``s_q`` not beyond ``v + r``: a prefix of the sorted points."""
    return (s_q - v) <= r


def _beyond_below(s_q, v, r):
    """True for ``s_q`` below ``v - r``: a prefix of the sorted points."""
    return (v - s_q) > r


def _leading_true(s, r, pred, guess):
    """(b, n) length of the prefix of row ``s[f]`` where ``pred(., s[f, i], r[f, i])`` holds.

    ``pred`` is monotone along each sorted row, so a guess whose left neighbour passes and
    whose own position fails is exact. Rounding can move the edge a step off
    ``searchsorted``'s guess: a few steps fix those, and bisection whatever is left.
    """
    n = s.shape[1]
    flat_s, flat_r, g = s.ravel(), r.ravel(), np.array(guess, dtype=np.intp).ravel()
    q = np.arange(flat_s.size)  # queries still to check
    for step in range(_LOCAL_STEPS + 1):
        start, v, rq, gq = q - q % n, flat_s[q], flat_r[q], g[q]
        too_far = (gq > 0) & ~pred(flat_s[start + np.maximum(gq - 1, 0)], v, rq)
        too_near = (gq < n) & pred(flat_s[start + np.minimum(gq, n - 1)], v, rq)
        wrong = too_far | too_near
        q = q[wrong]
        if not q.size:
            break
        if step < _LOCAL_STEPS:
            g[q] += too_near[wrong].astype(np.intp) - too_far[wrong]
    if q.size:
        g[q] = _bisect(s, q // n, flat_s[q], flat_r[q], pred)
    return g.reshape(s.shape)


def _bisect(s, feature, v, r, pred):
    """Vectorised bisection: prefix length of monotone ``pred`` on rows ``s[feature]``."""
    lo = np.zeros(v.size, dtype=np.intp)
    hi = np.full(v.size, s.shape[1], dtype=np.intp)
    while np.any(lo < hi):
        active = lo < hi
        mid = (lo + hi) // 2
        t = pred(s[feature, np.minimum(mid, s.shape[1] - 1)], v, r)
        lo = np.where(active & t, mid + 1, lo)
        hi = np.where(active & ~t, mid, hi)
    return lo
