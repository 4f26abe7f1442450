"""The Compare study's config: a frozen, validated dataclass (a cache key, saved beside results)."""

from __future__ import annotations

from dataclasses import dataclass

from nearid_core.config import MAX_SEED, _check_int, _check_real, _require

__all__ = ["CI_LEVEL", "CompareConfig", "MIN_LABEL_ROWS"]

CI_LEVEL = 0.90  # two-sided spread of the re-drawn splits (see compare's Notes)
MIN_LABEL_ROWS = 10  # a label with fewer eval rows gets no per-label errors


@dataclass(frozen=True)
class CompareConfig:
    """Settings of ``compare``: the split, the bootstrap, ICA and the diameter.

    seed : split (fit/eval halves), FastICA and every derived seed.
    n_boot : re-drawn seeded fit/eval splits for the intervals (0: none; else >= 2).
        Each refits the perm, rigid and linear maps; see ``compare`` for the cost.
    ica_components : principal components ICA runs on, for every embedding (capped by its
        width, rank and half its ICA rows); None chooses per embedding by ``ica_variance``.
    ica_variance : with ``ica_components`` None, the smallest number of principal components
        explaining this share of variance (then capped by ``max_pcs``).
    max_pcs : cap on the variance rule; FastICA's cost grows with the components.
    ica_max_iter, ica_restarts : FastICA iterations per start and seeded starts (``ica.fit_ica``).
    ica_max_rows : FastICA fits on at most this many fit rows (a seeded subsample).
    max_rows_diameter : diameters of up to this many eval rows are exact; above, the
        documented bound of ``kernels.diameter``.
    """

    seed: int = 0
    n_boot: int = 5
    ica_components: int | None = None
    ica_variance: float = 0.99
    max_pcs: int = 32
    ica_max_iter: int = 200
    ica_restarts: int = 2
    ica_max_rows: int = 5000
    max_rows_diameter: int = 5000

    def __post_init__(self) -> None:
        c = "CompareConfig"
        _check_int(c, "seed", self.seed, 0, MAX_SEED)
        _check_int(c, "n_boot", self.n_boot, 0, 1000)
        _require(self.n_boot != 1, c, "n_boot", "0 (no intervals) or at least 2", self.n_boot)
        if self.ica_components is not None:
            _check_int(c, "ica_components", self.ica_components, 1, 4096)
        _check_real(c, "ica_variance", self.ica_variance, 0.0, 1.0, lo_open=True)
        _check_int(c, "max_pcs", self.max_pcs, 1, 4096)
        _check_int(c, "ica_max_iter", self.ica_max_iter, 1, 100_000)
        _check_int(c, "ica_restarts", self.ica_restarts, 1, 50)
        _check_int(c, "ica_max_rows", self.ica_max_rows, 8, 10_000_000)
        _check_int(c, "max_rows_diameter", self.max_rows_diameter, 2, 1_000_000)
