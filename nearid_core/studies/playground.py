"""The Playground's sweeps: one reference leak grid per data kind, and exact sweeps at one leak.

The Playground answers "what happens if I move the leak?" in well under a second by reading
a stored grid (``GRID_LEAKS`` × ``SEEDS`` small autoencoders, trained once in the background
on the first visit) instead of training while the slider moves. A leak between the grid's
points is trained exactly, on request, as a one-leak sweep with the same settings. Both are
ordinary sweeps in the run store (listed, exported, deleted like any other), found again by
their settings (``config_id``), so a grid trained once serves every later visit and user.
"""

from __future__ import annotations

from dataclasses import replace

from nearid_core.config import DataConfig, SweepConfig
from nearid_core.studies.presets import preset

__all__ = ["GRID_LEAKS", "KINDS", "KIND_TEXTS", "SEEDS", "exact_config",
           "grid_config", "is_playground", "nearest_leak", "sweep_name"]

# 0, 0.05, ..., 0.95: the paper's range of leaks (its grid tops at 0.95), fine enough that
# the slider moves in visible steps of B(z).
GRID_LEAKS = tuple(round(0.05 * i, 2) for i in range(20))
# Three seeds give three seed pairs per leak (the tiny preset found one pair too noisy).
SEEDS = 3
KINDS = ("rolled", "linear", "mlp")
KIND_TEXTS = {
    "rolled": "rolled: two factors rolled up in 32-D by an exact isometry (the paper's data)",
    "linear": "linear: two factors through a random orthonormal map (an isometry, no curl)",
    "mlp": "mlp: a random leaky MLP generator, not an isometry (the control)",
}
NAME_PREFIX = "playground"


def _base(kind: str, seed: int) -> SweepConfig:
    """The tiny preset's training (converged in seconds) on ``kind`` data."""
    if kind not in KINDS:
        raise ValueError(f"data kind must be one of {KINDS}, got {kind!r}")
    cfg = preset("tiny", seed=seed)
    return replace(cfg, seeds=SEEDS, data=replace(cfg.data, kind=kind))


def grid_config(kind: str = "rolled", *, seed: int = 0) -> SweepConfig:
    """The reference grid of ``kind``: ``GRID_LEAKS`` × ``SEEDS`` models (60)."""
    return replace(_base(kind, seed), leaks=GRID_LEAKS)


def exact_config(kind: str, leak: float, *, seed: int = 0) -> SweepConfig:
    """``SEEDS`` models at the one leak ``leak``, with the grid's settings (same data, same
    model seeds), so that a grid leak trained exactly gives the grid's own models."""
    return replace(_base(kind, seed), leaks=(float(leak),))


def sweep_name(cfg: SweepConfig) -> str:
    """How the store lists a Playground sweep, e.g. ``playground · rolled · grid``."""
    what = "grid" if len(cfg.leaks) > 1 else f"α = {cfg.leaks[0]:g}"
    return f"{NAME_PREFIX} · {cfg.data.kind} · {what}"


def is_playground(row: dict) -> bool:
    """Whether a stored sweep row was started by the Playground (by its name)."""
    return str(row.get("name") or "").startswith(NAME_PREFIX + " · ")


def nearest_leak(leak: float, leaks=GRID_LEAKS) -> float:
    """The grid leak closest to ``leak`` (the lower one on a tie)."""
    return min(leaks, key=lambda a: (abs(a - leak), a))


def data_config(kind: str = "rolled", *, seed: int = 0) -> DataConfig:
    """The data every Playground sweep of ``kind`` trains on."""
    return _base(kind, seed).data


# The lesson's last step: small sweeps (the grid's training) where ICA only partly helps or
# fails. Measured at master seed 0 (2026-11-29, `sweep --n 1024 --epochs 20 --batch-size 64
# --lr 0.01 --seeds 3` plus the flags below): 4 Laplace factors, statistical ICA efficiency
# 22-29% at α ≥ 0.4 except 0.6 (−10%); Gaussian factors, ICA worse than the signed
# permutation against the truth at α = 0 (0.175 vs 0.114); free decoder, rank correlation
# of the rigid error with L_max 0.14 over six leaks (the lesson computes each on screen).
LESSON_LEAKS = (0.0, 0.4, 0.6, 0.8, 0.95)
LESSON_CASES = {
    "partial": "four Laplace factors (as the paper's Table 1)",
    "gaussian": "Gaussian factors",
    "free": "a free decoder (the leak no longer bounds L)",
}


def lesson_config(case: str, *, seed: int = 0) -> SweepConfig:
    """The small sweep of one of ``LESSON_CASES`` (``SEEDS`` seeds, rolled data)."""
    base = _base("rolled", seed)
    if case == "partial":
        return replace(base, leaks=LESSON_LEAKS,
                       data=replace(base.data, d_u=4, sources="laplace"))
    if case == "gaussian":
        return replace(base, leaks=LESSON_LEAKS, data=replace(base.data, sources="gaussian"))
    if case == "free":
        return replace(base, leaks=(0.0, 0.2, *LESSON_LEAKS[1:]),
                       model=replace(base.model, decoder="free"))
    raise ValueError(f"case must be one of {tuple(LESSON_CASES)}, got {case!r}")


def lesson_name(case: str) -> str:
    return f"lesson · {LESSON_CASES[case]}"
