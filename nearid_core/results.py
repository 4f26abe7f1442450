"""Read-side views of stored sweeps: the arrays and tables that the app's pages draw.

``load_view`` gathers one sweep (rows, analysis, held-out arrays) in one pass over the store;
the helpers below turn a view into plain rows and arrays (no torch, no plotting). A sweep
that is done never changes, so a view of it can be cached for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .alignment import GROUPS
from .analysis import SCORES, theorem1_fit
from .config import SweepConfig, sweep_from_dict
from .lipschitz import orthogonal_bound
from .store import DamagedArtefact, RunStore, StoreError

N_HIDDEN_DECODER = 2  # the decoder d_z -> w -> w -> d_x has two hidden activations (K)
VIEWS = ("statistical", "structural")
L_KINDS = ("L_max", "L_mean")


@dataclass
class ModelView:
    """One model of a sweep with its held-out arrays (None when not saved).

    latents, ica_latents : (n_test, d_z); b : (n_test,) B(z); loss_history : (epochs,)
    mean training loss per epoch; live_losses : losses sampled while training.
    """

    index: int
    run_id: str
    leak: float
    seed: int
    status: str
    reason: str
    metrics: dict
    live_losses: list
    latents: np.ndarray | None = None
    b: np.ndarray | None = None
    loss_history: np.ndarray | None = None
    ica_latents: np.ndarray | None = None
    ica_mixing: np.ndarray | None = None
    ica_mean: np.ndarray | None = None
    damaged: str = ""  # why its saved arrays cannot be read ("" when they are fine)

    @property
    def label(self) -> str:
        return f"#{self.index} · leak {self.leak:g} · seed {self.seed}"


@dataclass
class SweepView:
    """A stored sweep as the app sees it.

    u_test : (n_test, d_u) ground-truth factors of the held-out inputs; x_test : (n_test,
    obs_dim) the inputs; both None until training has saved them.
    """

    id: str
    name: str
    status: str
    reason: str
    progress: float
    message: str
    created_at: float
    updated_at: float
    config: SweepConfig
    config_dict: dict
    analysis: dict | None
    timings: dict
    models: list[ModelView] = field(default_factory=list)
    u_test: np.ndarray | None = None
    x_test: np.ndarray | None = None
    data_damaged: str = ""  # why the held-out data cannot be read ("" when fine)

    @property
    def done(self) -> list[ModelView]:
        """Models that finished training (as analysed: seed pairs index into this list)."""
        return [m for m in self.models if m.status == "done"]

    @property
    def usable(self) -> list[ModelView]:
        """Finished models whose saved arrays can all be read."""
        return [m for m in self.done if not m.damaged]

    @property
    def damage(self) -> list[str]:
        """One line per unreadable artefact (damaged models, then the held-out data)."""
        lines = [f"model {m.label}: {m.damaged}" for m in self.models if m.damaged]
        return lines + ([f"held-out data: {self.data_damaged}"] if self.data_damaged else [])

    @property
    def leaks(self) -> tuple[float, ...]:
        return self.config.leaks

    def model(self, index: int) -> ModelView:
        for m in self.models:
            if m.index == index:
                return m
        raise KeyError(f"sweep {self.id} has no model #{index}")

    @property
    def per_leak(self) -> list[dict]:
        return list(self.analysis["per_leak"]) if self.analysis else []


def _arrays(load, owner: str, name: str, expected: bool) -> tuple[dict, str]:
    """(arrays, problem) where problem says, without server paths, why an artefact that
    should be there cannot be read; ({}, "") when an optional one is absent."""
    try:
        return load(owner, name), ""
    except DamagedArtefact as err:
        return {}, err.message
    except StoreError:  # missing
        return {}, f"{name}.npz is missing" if expected else ""
    except OSError as err:  # e.g. permissions: the store names the rest itself
        return {}, f"{name}.npz cannot be read ({type(err).__name__})"


def _model_view(store: RunStore, run: dict, with_arrays: bool, analysed: set[str]) -> ModelView:
    m = ModelView(run["index"], run["id"], run["leak"], run["seed"], run["status"],
                  run["reason"] or "", run["metrics"] or {}, list(run["loss_history"] or []))
    if with_arrays and run["status"] in ("done", "failed", "cancelled"):
        done = run["status"] == "done"
        held, bad_held = _arrays(store.load_arrays, run["id"], "heldout", done)
        m.latents, m.b, m.loss_history = held.get("latents"), held.get("b"), held.get(
            "loss_history")
        ica, bad_ica = _arrays(store.load_arrays, run["id"], "ica",
                               done and str(run["index"]) in analysed)
        m.ica_latents, m.ica_mixing, m.ica_mean = (ica.get("latents"), ica.get("mixing"),
                                                   ica.get("mean"))
        m.damaged = "; ".join(p for p in (bad_held, bad_ica) if p)
    return m


def load_view(store: RunStore, sweep_id: str, *, arrays: bool = True) -> SweepView:
    """Everything the pages need about one sweep.

    Parameters
    ----------
    store : RunStore
    sweep_id : id or unique prefix.
    arrays : also load held-out arrays (latents, B(z), ICA latents, data).

    Returns
    -------
    SweepView; StoreError when the sweep does not exist.

    Notes
    -----
    An unreadable artefact never raises: the model gets a ``damaged`` reason (the sweep a
    ``data_damaged`` one) and its arrays stay None, so the rest of the sweep can be shown.
    A missing file counts as damage only where a done sweep must have saved it.
    """
    s = store.get_sweep(sweep_id)
    view = SweepView(s["id"], s["name"] or "", s["status"], s["reason"] or "",
                     float(s["progress"] or 0.0), s["message"] or "", s["created_at"],
                     s["updated_at"], sweep_from_dict(s["config"]), s["config"], s["analysis"],
                     s["timings"] or {})
    analysed = set((s["analysis"] or {}).get("per_model", {}))
    view.models = [_model_view(store, r, arrays, analysed) for r in store.list_runs(s["id"])]
    if arrays:
        data, view.data_damaged = _arrays(store.load_sweep_arrays, s["id"], "data",
                                          s["status"] == "done")
        view.u_test, view.x_test = data.get("u_test"), data.get("x_test")
    return view


def b_by_leak(view: SweepView) -> dict[float, np.ndarray]:
    """Leak -> B(z) of every held-out point of every finished model at that leak."""
    out = {}
    for a in view.leaks:
        parts = [m.b for m in view.done if m.leak == a and m.b is not None]
        if parts:
            b = np.concatenate(parts)
            out[a] = b[np.isfinite(b)]
    return out


def leak_bounds(view: SweepView) -> dict[float, float]:
    """Leak -> the orthogonal decoder's bound ``(1 - alpha)^-K`` (empty for free decoders)."""
    if view.config.model.decoder != "orthogonal":
        return {}
    return {a: orthogonal_bound(a, N_HIDDEN_DECODER) for a in view.leaks}


LEAK_COLUMNS = ("leak", "models", "failed", "recon_mse", "B_median", "B_q90", "B_max",
                "L_max", "L_mean")


def leak_table(view: SweepView) -> list[dict]:
    """Per leak: models, failures, reconstruction and B(z) summaries (and the bound)."""
    bounds = leak_bounds(view)
    rows = []
    for r in view.per_leak:
        row = {k: r.get(k) for k in LEAK_COLUMNS}
        if bounds:
            row["bound"] = bounds.get(r["leak"])
        rows.append(row)
    return rows


def model_table(view: SweepView) -> list[dict]:
    """One row per model: status and reason, reconstruction, B(z) and ICA summaries."""
    rows = []
    for m in view.models:
        mt = m.metrics
        rows.append({
            "model": m.index, "leak": m.leak, "seed": m.seed, "status": m.status,
            "reason": m.reason, "recon_mse": mt.get("recon_mse"), "L_max": mt.get("L_max"),
            "L_mean": mt.get("L_mean"), "mcc_before": mt.get("before", {}).get("mcc"),
            "mcc_after": mt.get("after", {}).get("mcc"),
            "ica_converged": mt.get("ica_converged"), "damaged": m.damaged,
        })
    return rows


@dataclass(frozen=True)
class ErrorCurves:
    """ℓ2 alignment error per leak, against L, for each group.

    L, leaks : (k,); mean, std : group -> (k,); points : group -> (L values, errors) of every
    seed pair (statistical) or model (structural); fits : group -> {c, r2, n}.
    """

    view: str
    L_kind: str
    leaks: np.ndarray
    L: np.ndarray
    mean: dict
    std: dict
    points: dict
    fits: dict


def error_curves(view: SweepView, *, kind: str = "statistical",
                 L_kind: str = "L_max") -> ErrorCurves:
    """Identifiability error against the bi-Lipschitz excess L, with Theorem-1 fits.

    Notes
    -----
    The fit ``c * sqrt(2L + L^2)`` tests the proportionality of Theorem 1 only: its constant
    is fitted, and L is estimated at held-out points, not certified.
    """
    if kind not in VIEWS or L_kind not in L_KINDS:
        raise ValueError(f"kind must be one of {VIEWS} and L_kind one of {L_KINDS}")
    rows = view.per_leak
    prefix = "stat" if kind == "statistical" else "struct"
    L = np.array([r[L_kind] for r in rows], float)
    leaks = np.array([r["leak"] for r in rows], float)
    mean = {g: np.array([r[f"{prefix}_{g}"] for r in rows], float) for g in GROUPS}
    std = {g: np.array([r[f"{prefix}_{g}_std"] for r in rows], float) for g in GROUPS}
    points = _points(view, kind, dict(zip(leaks.tolist(), L.tolist(), strict=True)))
    fits = {g: theorem1_fit(L, mean[g]) for g in GROUPS}
    return ErrorCurves(kind, L_kind, leaks, L, mean, std, points, fits)


def _points(view: SweepView, kind: str, L_of: dict) -> dict:
    out = {g: ([], []) for g in GROUPS}
    if kind == "statistical":
        items = [(float(a), p) for a, ps in (view.analysis or {}).get("pairs", {}).items()
                 for p in ps]
    else:
        per_model = (view.analysis or {}).get("per_model", {})
        items = [(view.model(int(i)).leak, r["structural"]) for i, r in per_model.items()]
    for a, p in items:
        for g in GROUPS:
            if a in L_of and p.get(g) is not None:
                out[g][0].append(L_of[a])
                out[g][1].append(p[g])
    return {g: (np.array(x, float), np.array(y, float)) for g, (x, y) in out.items()}


def pairs_table(view: SweepView) -> list[dict]:
    """Every seed pair's alignment errors (statistical identifiability)."""
    seeds = {m.index: m.seed for m in view.models}
    per_leak_models = {a: [m.index for m in view.done if m.leak == a] for a in view.leaks}
    rows = []
    for a, ps in (view.analysis or {}).get("pairs", {}).items():
        idx = per_leak_models.get(float(a), [])
        for p in ps:
            i, j = p["i"], p["j"]
            mi = idx[i] if i < len(idx) else i
            mj = idx[j] if j < len(idx) else j
            rows.append({"leak": float(a), "model_a": mi, "model_b": mj,
                         "seed_a": seeds.get(mi), "seed_b": seeds.get(mj),
                         **{g: p[g] for g in GROUPS}, "ica_efficiency": p["ica_efficiency"],
                         "ica_converged": p["ica_converged"]})
    return rows


def model_scores(view: SweepView, index: int) -> dict[str, tuple[float, float]]:
    """Metric name -> (before ICA, after ICA) for one analysed model."""
    r = (view.analysis or {}).get("per_model", {}).get(str(index))
    if r is None:
        raise KeyError(f"model #{index} of sweep {view.id} was not analysed "
                       "(it failed, or the sweep did not finish)")
    return {s: (r["before"][s], r["after"][s]) for s in SCORES}


def reproduction_rows(view: SweepView) -> list[dict]:
    """This sweep's warm-up numbers in the layout of the paper's Tables 1 and 2, per leak."""
    rows = []
    for r in view.per_leak:
        rows.append({"leak": r["leak"], "perm": r["stat_perm"], "rigid": r["stat_rigid"],
                     "linear": r["stat_linear"], "ica": r["stat_ica"],
                     "ica_efficiency": r["ica_efficiency"],
                     **{f"{s}_{w}": r[f"{s}_{w}"] for s in ("infom", "infoe", "infoc")
                        for w in ("before", "after")}})
    return rows
