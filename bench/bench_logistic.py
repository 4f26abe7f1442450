"""Speed of InfoE's logistic regressions: sklearn's ``LogisticRegression`` against nearid's.

InfoE fits one multinomial logistic regression per factor: nearid's protocol on the seeded
fit half (``C=1e4``, newton-cholesky, sklearn's default tol 1e-4), the authors' on all rows
(unpenalised, class-balanced, tol 1e-10). ``logistic.fit_multinomial`` solves the same
objective to a gradient of 1e-10. Both run here side by side on the same data (latents
``tanh(u A)`` plus noise, factor cut into 20 equal-count bins), median of 7 runs each, after
checking that the fitted probabilities agree; then one whole
``metrics.disentanglement_scores(z, u, authors=True)`` with ``infomec._FAST_LOGISTIC`` off
(sklearn, as before) and on.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_logistic.py

Prints a table; the lead records it in BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nearid_core.science import infomec  # noqa: E402
from nearid_core.science.kernels import split_fit_eval  # noqa: E402
from nearid_core.science.logistic import fit_multinomial  # noqa: E402
from nearid_core.science.metrics import disentanglement_scores  # noqa: E402

SIZES = [(205, 2), (1638, 2), (2000, 8)]  # (n rows, d latents); 20 classes, 2 factors
N_BINS, REPEATS, SEED = 20, 7, 0


def make_data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) standardised latents and (n, 2) uniform factors."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(n, 2))  # (n, 2)
    z = np.tanh(u @ rng.normal(size=(2, d))) + 0.05 * rng.normal(size=(n, d))  # (n, d)
    return infomec._standardise(z), u


def median_seconds(fn) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def protocols(z: np.ndarray, codes: np.ndarray) -> dict:
    """name -> (sklearn fit, fast fit, rows to predict) for one factor."""
    fit = split_fit_eval(z.shape[0], seed=SEED)[0]
    authors = LogisticRegression(C=np.inf, class_weight="balanced", solver="newton-cholesky",
                                 tol=1e-10, max_iter=1000)
    return {
        "nearid": (lambda: LogisticRegression(C=infomec._C, solver="newton-cholesky",
                                              max_iter=200).fit(z[fit], codes[fit]),
                   lambda: fit_multinomial(z[fit], codes[fit], C=infomec._C), z[fit]),
        "authors": (lambda: authors.fit(z, codes),
                    lambda: fit_multinomial(z, codes, balanced=True), z),
    }


def main() -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", LinAlgWarning)
    print(f"{'case':<24}{'sklearn ms':>12}{'fast ms':>10}{'ratio':>8}{'max |dP|':>11}"
          f"{'iters':>7}")
    for n, d in SIZES:
        z, u = make_data(n, d, SEED)
        codes = infomec.bin_factors(u, n_bins=N_BINS)[:, 0]
        for name, (slow, fast, rows) in protocols(z, codes).items():
            model, mine = slow(), fast()
            assert mine.converged
            dp = np.abs(model.predict_proba(rows) - mine.predict_proba(rows)).max()
            t_slow, t_fast = median_seconds(slow), median_seconds(fast)
            print(f"{f'{name} n={n} d={d}':<24}{t_slow * 1e3:>12.1f}{t_fast * 1e3:>10.1f}"
                  f"{t_slow / t_fast:>8.1f}{dp:>11.1e}{mine.n_iter:>7}")
    print(f"\n{'disentanglement_scores':<24}{'before ms':>12}{'after ms':>10}{'ratio':>8}"
          f"{'max |dscore|':>14}")
    for n, d in SIZES:
        z, u = make_data(n, d, SEED)
        runs = {}
        for flag in (False, True):
            infomec._FAST_LOGISTIC = flag
            scores = disentanglement_scores(z, u, seed=SEED, authors=True)
            runs[flag] = (median_seconds(lambda z=z, u=u: disentanglement_scores(
                z, u, seed=SEED, authors=True)), scores)
        infomec._FAST_LOGISTIC = True
        diff = max(abs(runs[True][1][key] - runs[False][1][key]) for key in runs[True][1])
        print(f"{f'authors=True n={n} d={d}':<24}{runs[False][0] * 1e3:>12.1f}"
              f"{runs[True][0] * 1e3:>10.1f}{runs[False][0] / runs[True][0]:>8.1f}{diff:>14.1e}")


if __name__ == "__main__":
    main()
