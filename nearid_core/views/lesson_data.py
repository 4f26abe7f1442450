"""The numbers each lesson step's "what to notice" line is computed from, read from the
stored sweeps the step draws (``views.lesson`` turns them into sentences).

Every function takes a ``SweepView`` (or a Playground ``Scene``) and returns plain floats or
arrays; a value the sweep does not have is NaN, which the notices report as n/a.
"""

from __future__ import annotations

import numpy as np

from nearid_core.views import lesson
from nearid_core.views.playground import Scene
from nearid_core.views.results import SweepView

__all__ = ["ICA_MAX_LEAK", "PARTIAL_MIN_LEAK", "notice_for"]

ICA_MAX_LEAK = 0.3  # step 5 averages the near-isometric leaks, where Theorem 1 applies
PARTIAL_MIN_LEAK = 0.4  # the paper's Table 1 regime quoted in the issue: α ≥ 0.4
GAUSS_MAX_LEAK = 0.4  # near-linear decoders: the latents are a rotation of the Gaussian u


def _column(view: SweepView, key: str) -> np.ndarray:
    return np.array([np.nan if r.get(key) is None else r[key] for r in view.per_leak], float)


def data_inputs(view: SweepView) -> tuple[float, str, int]:
    """The generator's max B over its checked points, the data kind and d_u."""
    gen = (view.analysis or {}).get("generator") or {}
    return float(gen.get("B_max", np.nan)), view.config.data.kind, view.config.data.d_u


def leak_inputs(view: SweepView) -> tuple[np.ndarray, np.ndarray]:
    """Leaks (k,) and the median B(z) over each leak's held-out points (k,)."""
    return _column(view, "leak"), _column(view, "B_median")


def trend_inputs(view: SweepView) -> tuple[np.ndarray, np.ndarray]:
    """Per leak: L_max_max (the error-vs-L chart's default L) and the mean rigid error
    between seeds (k,) each."""
    return _column(view, "L_max_max"), _column(view, "stat_rigid")


def rotation_inputs(sc: Scene) -> tuple[float, float, float, float]:
    """The pair's raw (no map), signed-permutation and rigid errors, and its leak."""
    return sc.overlays["raw"].error, sc.errors["perm"], sc.errors["rigid"], sc.leak


def ica_inputs(view: SweepView, max_leak: float = ICA_MAX_LEAK) -> tuple[float, ...]:
    """Means over leaks ≤ ``max_leak`` of the structural perm and ICA errors (against u)
    and of MCC before and after ICA."""
    return _low_means(view, ("struct_perm", "struct_ica", "mcc_before", "mcc_after"), max_leak)


def _low_means(view: SweepView, keys: tuple[str, ...], max_leak: float) -> tuple[float, ...]:
    low = _column(view, "leak") <= max_leak + 1e-12
    out = []
    for k in keys:
        v = _column(view, k)[low]
        out.append(float(v[np.isfinite(v)].mean()) if np.isfinite(v).any() else np.nan)
    return tuple(out)


def leak_efficiencies(view: SweepView, min_leak: float = PARTIAL_MIN_LEAK) -> np.ndarray:
    """Statistical ICA efficiency per leak ≥ ``min_leak``, from the mean errors over its
    seed pairs as in the paper's Table 1 (NaN where the sweep's guard made it n/a)."""
    return _column(view, "ica_efficiency")[_column(view, "leak") >= min_leak - 1e-12]


def gaussian_inputs(view: SweepView, max_leak: float = GAUSS_MAX_LEAK) -> tuple[float, ...]:
    """Means over leaks ≤ ``max_leak`` of the structural perm, ICA and rigid errors."""
    return _low_means(view, ("struct_perm", "struct_ica", "struct_rigid"), max_leak)


def notice_for(step: str, view: SweepView, *, scene: Scene | None = None,
               case: str = "") -> lesson.Notice:
    """The "what to notice" line of lesson step ``step`` on the sweep shown (and, for the
    rotation step, the pair shown; for the limits step, which ``case`` of it)."""
    if step == "data":
        return lesson.notice_data(*data_inputs(view))
    if step == "leak":
        return lesson.notice_leak(*leak_inputs(view))
    if step == "rotation":
        if scene is None:
            raise ValueError("the rotation step needs the pair shown (a Scene)")
        return lesson.notice_rotation(*rotation_inputs(scene))
    if step == "theorem":
        return lesson.notice_theorem(*trend_inputs(view))
    if step == "ica":
        return lesson.notice_ica(*ica_inputs(view))
    if step == "limits":
        return _limits(view, case)
    raise ValueError(f"step must be one of {[s.id for s in lesson.STEPS]}, got {step!r}")


def _limits(view: SweepView, case: str) -> lesson.Notice:
    if case == "partial":
        return lesson.notice_partial(leak_efficiencies(view))
    if case == "gaussian":
        return lesson.notice_gaussian(*gaussian_inputs(view))
    if case == "free":
        return lesson.notice_free_decoder(*trend_inputs(view))
    raise ValueError(f"case must be partial, gaussian or free, got {case!r}")
