"""Read-side views of stored sweeps: the arrays and tables that the app's pages draw.

``load_view`` gathers one sweep (rows, analysis, held-out arrays) in one pass over the store;
the helpers below turn a view into plain rows and arrays (no torch, no plotting). A sweep
that is done never changes, so a view of it can be cached for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nearid_core.config import SweepConfig, sweep_from_dict
from nearid_core.runs.store import DamagedArtefact, RunStore, StoreError
from nearid_core.science.fits import NA
from nearid_core.science.lipschitz import orthogonal_bound
from nearid_core.studies import summary
from nearid_core.studies.analysis import AUTHORS, SCORES
from nearid_core.studies.claims import N_HIDDEN_DECODER

VIEWS = ("statistical", "structural")
L_KINDS = summary.L_BASES  # per model: max or mean of B(z) − 1 over its held-out points
L_OVER = summary.L_OVER  # per leak: over its seeds
L_SUMMARIES = summary.L_SUMMARIES


@dataclass
class ModelView:
    """One model of a sweep with its held-out arrays (None when not saved).

    latents, ica_latents : (n_test, d_z); b : (n_test,) B(z); singular_values : (n_test,
    d_z) of the decoder Jacobian; loss_history : (epochs,) mean training loss per epoch;
    live_losses : losses sampled while training.
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
    singular_values: np.ndarray | None = None
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

    def runs(self) -> list[dict]:
        """Per model: index, leak, seed, status and metrics (as ``RunStore.list_runs``)."""
        return [{"index": m.index, "leak": m.leak, "seed": m.seed, "status": m.status,
                 "metrics": m.metrics} for m in self.models]

    @property
    def per_leak(self) -> list[dict]:
        """Per-leak rows under the honest L names with guarded ICA efficiency
        (``summary.leak_rows``), whatever version of nearid stored the analysis."""
        return summary.leak_rows(self.analysis, self.runs()) if self.analysis else []


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
        m.singular_values = held.get("singular_values")
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
                *summary.L_SUMMARIES)


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


def __getattr__(name: str):
    if name == "ErrorCurves":  # lives with the identifiability views, imported on use
        from nearid_core.views.ident_views import ErrorCurves

        return ErrorCurves
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def error_curves(view: SweepView, *, kind: str = "statistical", L_kind: str = "L_max_max"):
    """``ident_views.error_curves``: ℓ2 error against L with the Theorem-1 fits."""
    from nearid_core.views.ident_views import error_curves as curves

    return curves(view, kind=kind, L_kind=L_kind)


def pairs_table(view: SweepView) -> list[dict]:
    """Every seed pair's L, alignment errors and guarded ICA efficiency."""
    return summary.pair_rows(view.analysis or {}, view.runs())


def model_scores(view: SweepView, index: int) -> dict[str, tuple[float, float]]:
    """Metric name -> (before ICA, after ICA) for one analysed model."""
    r = (view.analysis or {}).get("per_model", {}).get(str(index))
    if r is None:
        raise KeyError(f"model #{index} of sweep {view.id} was not analysed "
                       "(it failed, or the sweep did not finish)")
    return {s: (r["before"][s], r["after"][s]) for s in SCORES}


def reproduction_rows(view: SweepView) -> list[dict]:
    """This sweep's numbers in the layout of the paper's Tables 1 and 2, per leak."""
    keep = ("leak", "ica_efficiency", "ica_efficiency_note", "ica_vs_linear")
    return [{**{k: r[k] for k in keep[:1]},
             **{g: r[f"stat_{g}"] for g in ("perm", "rigid", "linear", "ica")},
             **{k: r[k] for k in keep[1:]},
             **{f"{s}_{w}": r.get(f"{s}_{w}", NA)
                for s in ("infom", "infoe", "infoc", *AUTHORS) for w in ("before", "after")}}
            for r in view.per_leak]
