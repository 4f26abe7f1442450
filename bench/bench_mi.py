"""Speed of the k-NN mutual information: sklearn's ``mutual_info_classif`` against nearid's.

InfoMEC's NMI matrix calls ``mutual_info_classif(z, codes_i, discrete_features=False,
n_neighbors=10, random_state=seed)`` once per factor column ``i``;
``nearid_core.science.mi.mutual_info_cd_many`` gives the same matrix in one call. Both run
here side by side on the same data (latents mixed from uniform factors, each factor cut into
20 equal-count bins), median of 7 runs each, after checking that the matrices are equal.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_mi.py

Prints a table; the lead records it in BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_selection import mutual_info_classif

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nearid_core.science.mi import mutual_info_cd_many  # noqa: E402

SIZES = [  # (n rows, d latents, factor columns)
    (205, 2, 2),
    (1638, 2, 2),
    (2000, 10, 5),
]
N_NEIGHBORS, N_BINS, REPEATS, SEED = 10, 20, 7, 0


def make_data(n: int, d: int, n_factors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) latents and (n, n_factors) bin codes, 20 equal-count bins per factor."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(n, n_factors))  # (n, n_factors)
    z = u @ rng.normal(size=(n_factors, d)) + 0.1 * rng.normal(size=(n, d))  # (n, d)
    ranks = np.argsort(np.argsort(u, axis=0), axis=0)
    return z, (ranks * N_BINS) // n  # (n, n_factors)


def sklearn_matrix(z: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n_factors, d) as InfoMEC computes it today: one sklearn call per factor column."""
    return np.stack([
        mutual_info_classif(z, c, discrete_features=False, n_neighbors=N_NEIGHBORS,
                            random_state=SEED)
        for c in codes.T
    ])


def nearid_matrix(z: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(n_factors, d) in one call."""
    return mutual_info_cd_many(z, codes, n_neighbors=N_NEIGHBORS, random_state=SEED)


def median_seconds(fn, *args) -> float:
    """Median wall time of ``REPEATS`` calls, after one unmeasured call."""
    fn(*args)
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    print(f"k-NN MI, n_neighbors={N_NEIGHBORS}, {N_BINS} labels per factor, "
          f"median of {REPEATS}")
    print(f"{'n':>6} {'d':>3} {'cols':>4} {'sklearn ms':>11} {'nearid ms':>10} "
          f"{'ratio':>7}  equal")
    for n, d, n_factors in SIZES:
        z, codes = make_data(n, d, n_factors, SEED)
        equal = np.array_equal(sklearn_matrix(z, codes), nearid_matrix(z, codes))
        t_sk = median_seconds(sklearn_matrix, z, codes)
        t_ni = median_seconds(nearid_matrix, z, codes)
        print(f"{n:>6} {d:>3} {n_factors:>4} {1e3 * t_sk:>11.2f} {1e3 * t_ni:>10.2f} "
              f"{t_sk / t_ni:>6.0f}x  {equal}")


if __name__ == "__main__":
    main()
