"""What the Playground draws for one leak and one pair: B(z) of the pair's models, the
overlay picture, the four alignment errors and the pair's place on the error-vs-L curve.

Everything is read from stored sweeps (``views.results.SweepView``) and small array work
(four alignments of a few hundred held-out rows), so a slider move costs milliseconds here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nearid_core.science.lipschitz import orthogonal_bound
from nearid_core.studies.claims import N_HIDDEN_DECODER
from nearid_core.views.overlay import Overlay, pair_overlays
from nearid_core.views.results import SweepView

__all__ = ["GROUP_KEYS", "Scene", "pair_choices", "parse_pair", "scene"]

GROUP_KEYS = ("perm", "rigid", "linear", "ica")
TRUTH = "u"


def pair_choices(seeds: int) -> dict[str, str]:
    """Pair id -> label: every seed pair ("0-1"), then the truth against each seed ("u-0")."""
    out = {f"{i}-{j}": f"seed {i} vs seed {j}" for i in range(seeds) for j in range(i + 1, seeds)}
    out |= {f"{TRUTH}-{j}": f"true factors u vs seed {j}" for j in range(seeds)}
    return out


def parse_pair(text: str, seeds: int) -> str:
    """A pair id checked against ``pair_choices(seeds)`` (ValueError names the choices)."""
    if text not in pair_choices(seeds):
        raise ValueError(f"expected one of {', '.join(pair_choices(seeds))}")
    return text


@dataclass(frozen=True)
class Scene:
    """One leak and one pair of a stored sweep, ready to draw.

    b : model name -> (n_test,) B(z) of the pair's models; overlays : ``views.overlay``
    maps (raw, perm, rigid, ica) of B onto A; rows : (m,) the held-out rows drawn, and
    colour : (m,) the chosen true factor at those rows; errors : group -> the stored ℓ2
    error of the pair (perm, rigid, linear, ica); L : the pair's L (the larger L_max of its
    models, as the error-vs-L curve's dots); bound : the orthogonal decoder's bound on B at
    this leak (NaN for a free decoder).
    """

    leak: float
    pair: str
    view: str  # "statistical" (two seeds) or "structural" (truth vs a model)
    a_name: str
    b_name: str
    b: dict
    overlays: dict[str, Overlay]
    rows: np.ndarray
    colour: np.ndarray
    colour_name: str
    errors: dict
    L: float
    bound: float


def _models_at(view: SweepView, leak: float) -> list:
    models = sorted((m for m in view.models if m.leak == leak), key=lambda m: m.seed)
    if not models:
        raise ValueError(f"sweep {view.id} has no models at leak {leak:g}")
    return models


def _usable(m, view: SweepView):
    if m.status != "done" or m.latents is None:
        why = m.reason or m.damaged or "its held-out latents are not stored"
        raise ValueError(f"the model at leak {m.leak:g}, seed {m.seed} is {m.status}: {why}")
    return m


def _stored_pair(view: SweepView, leak: float, a: int, b: int) -> dict:
    pairs = (view.analysis or {}).get("pairs", {})
    rows = next((v for k, v in pairs.items() if float(k) == leak), [])
    hit = next((p for p in rows if {p["model_a"], p["model_b"]} == {a, b}), None)
    if hit is None:
        raise ValueError(f"sweep {view.id} has no analysed pair of models #{a} and #{b}")
    return hit


def _stored_model(view: SweepView, index: int) -> dict:
    per_model = (view.analysis or {}).get("per_model", {})
    if str(index) not in per_model:
        raise ValueError(f"sweep {view.id} has no analysis of model #{index}")
    return per_model[str(index)]["structural"]


def scene(view: SweepView, leak: float, pair: str, *, factor: int = 0,
          max_points: int = 400) -> Scene:
    """Assemble what the Playground draws for ``leak`` and ``pair`` (see ``pair_choices``).

    Notes
    -----
    The bars are the stored analysis' errors; the overlay refits the same maps with the same
    seed and split, so its panel titles give the same perm, rigid and ICA numbers (tested).
    Raises ValueError (one line) for a leak, pair or model the sweep cannot show.
    """
    models = _models_at(view, leak)
    parse_pair(pair, len(models))
    left, right = pair.split("-")
    mb = _usable(models[int(right)], view)
    if view.u_test is None:
        raise ValueError(f"sweep {view.id} has no stored held-out data")
    if not 0 <= factor < view.u_test.shape[1]:
        raise ValueError(f"factor must be in 0..{view.u_test.shape[1] - 1}, got {factor}")
    if left == TRUTH:
        A, a_name, kind = view.u_test, "true factors u", "structural"
        errors = _stored_model(view, mb.index)
        b, L = {f"seed {right}": mb.b}, mb.metrics.get("L_max", np.nan)
    else:
        ma = _usable(models[int(left)], view)
        A, a_name, kind = ma.latents, f"seed {left}", "statistical"
        errors = _stored_pair(view, leak, ma.index, mb.index)
        b = {f"seed {left}": ma.b, f"seed {right}": mb.b}
        L = max(ma.metrics.get("L_max", np.nan), mb.metrics.get("L_max", np.nan))
    overlays, rows = pair_overlays(A, mb.latents, seed=view.config.seed, max_points=max_points)
    decoder = view.config.model.decoder
    bound = orthogonal_bound(leak, N_HIDDEN_DECODER) if decoder == "orthogonal" else np.nan
    return Scene(leak=leak, pair=pair, view=kind, a_name=a_name, b_name=f"seed {right}",
                 b={k: v for k, v in b.items() if v is not None}, overlays=overlays, rows=rows,
                 colour=view.u_test[rows, factor], colour_name=f"u{factor + 1}",
                 errors={g: float(errors.get(g, np.nan)) for g in GROUP_KEYS},
                 L=float(L), bound=float(bound))
