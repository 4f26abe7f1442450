"""Result containers of the disentanglement study: per data set, the Table-2-shaped table,
the acceptance verdicts and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nearid_core.config import json_safe, to_dict
from nearid_core.studies._disentangle_config import (
    DATASET_TEXTS,
    ISOMETRIC,
    METHOD_LABELS,
    METHOD_TEXTS,
    METHODS,
    METRICS,
    PAPER_TABLE2,
)
from nearid_core.studies._disentangle_scores import ModelScores

__all__ = ["DatasetResult", "DisentangleResult", "mean_rows"]


@dataclass(frozen=True, eq=False)
class DatasetResult:
    """One data set's models and their scores.

    latents : (seeds, n_test, d_z) held-out latents; u_test : (n_test, d_u) their factors.
    models : one ModelScores per seed; recon_mse : (seeds,) held-out reconstruction error per
    coordinate, x_var : the held-out observations' variance per coordinate (the scale of it).
    geometry : the generator's measured ``B_median``, ``B_max``, ``distortion_median``.
    decoder : the trained ensemble (shapes only, for traversals; not saved in JSON).
    """

    name: str
    n_factors: int
    n_latents: int
    model_seeds: list[int]
    models: list[ModelScores]
    latents: np.ndarray
    u_test: np.ndarray
    recon_mse: np.ndarray
    x_var: float
    geometry: dict
    train_s: float
    score_s: float
    decoder: Any = None
    image_size: int | None = None

    def score(self, method: str, metric: str) -> np.ndarray:
        """(seeds,) one metric of one code over the seeds."""
        return np.array([m.scores[method][metric] for m in self.models], dtype=float)

    def rows(self) -> list[dict]:
        """Mean and std over seeds of every metric, one row per method."""
        rows = []
        for method in METHODS:
            row = {"scope": self.name, "method": METHOD_LABELS[method], "key": method}
            for metric in METRICS:
                v = self.score(method, metric)
                row[metric], row[f"{metric}_std"] = float(np.mean(v)), float(np.std(v))
            rows.append(row)
        return rows

    def record(self) -> dict:
        return {"name": self.name, "text": DATASET_TEXTS[self.name],
                "n_factors": self.n_factors, "n_latents": self.n_latents,
                "model_seeds": self.model_seeds, "recon_mse": self.recon_mse,
                "x_var": self.x_var, "geometry": self.geometry, "train_s": self.train_s,
                "score_s": self.score_s, "per_seed": [m.record() for m in self.models],
                "rows": self.rows()}


def mean_rows(datasets: list[DatasetResult], scope: str) -> list[dict]:
    """Per method, the mean over data sets of their seed means (Table 2's aggregate)."""
    rows = []
    for method in METHODS:
        row = {"scope": scope, "method": METHOD_LABELS[method], "key": method}
        for metric in METRICS:
            row[metric] = float(np.mean([np.mean(d.score(method, metric)) for d in datasets]))
        rows.append(row)
    return rows


def _gain(datasets: list[DatasetResult], method: str, metric: str) -> np.ndarray:
    """(seeds,) per seed index: the mean over data sets of (method - AE)."""
    return np.mean([d.score(method, metric) - d.score("ae", metric) for d in datasets], axis=0)


def _every_seed(iso: list[DatasetResult], method: str) -> dict:
    per_seed = []
    for k in range(len(iso[0].models)):
        row = {"seed_index": k}
        for metric in ("infom", "mcc"):
            row[f"{metric}_ae"] = float(np.mean([d.score("ae", metric)[k] for d in iso]))
            row[f"{metric}_ica"] = float(np.mean([d.score(method, metric)[k] for d in iso]))
        row["beats"] = row["infom_ica"] > row["infom_ae"] and row["mcc_ica"] > row["mcc_ae"]
        per_seed.append(row)
    wins = sum(r["beats"] for r in per_seed)
    names = ", ".join(d.name for d in iso)
    text = (f"{METHOD_LABELS[method]} beats AE on InfoM and MCC (mean over {names}) at "
            f"{wins} of {len(per_seed)} seeds: " + "; ".join(
                f"seed {r['seed_index']}: InfoM {r['infom_ae']:.2f} -> {r['infom_ica']:.2f}, "
                f"MCC {r['mcc_ae']:.2f} -> {r['mcc_ica']:.2f}" for r in per_seed))
    return {"claim": "isometric_gain_every_seed", "method": method,
            "passed": wins == len(per_seed), "text": text, "per_seed": per_seed}


def _shrinks(iso: list[DatasetResult], control: DatasetResult, method: str) -> dict:
    gains = {"isometric": {m: float(np.mean(_gain(iso, method, m))) for m in ("infom", "mcc")},
             "control": {m: float(np.mean(_gain([control], method, m)))
                         for m in ("infom", "mcc")}}
    ok = all(gains["control"][m] < gains["isometric"][m] for m in ("infom", "mcc"))
    text = (f"{METHOD_LABELS[method]} gain over AE, mean over seeds: isometric InfoM "
            f"{gains['isometric']['infom']:+.2f}, MCC {gains['isometric']['mcc']:+.2f}; "
            f"control ({control.name}) InfoM {gains['control']['infom']:+.2f}, MCC "
            f"{gains['control']['mcc']:+.2f}: the gain {'shrinks' if ok else 'does not shrink'}"
            " on the control")
    return {"claim": "control_gain_shrinks", "method": method, "passed": ok, "text": text,
            "gains": gains}


def verdicts(datasets: list[DatasetResult]) -> list[dict]:
    """The study's acceptance checks, computed, with the numbers that decide them.

    Notes
    -----
    "Isometric" means ``shapes`` (near-isometric, its B measured) and ``rolled`` (exact). A
    check whose data sets were not run has ``passed`` None.
    """
    iso = [d for d in datasets if d.name in ISOMETRIC]
    control = next((d for d in datasets if d.name not in ISOMETRIC), None)
    out = []
    for method in METHODS[1:]:
        if iso:
            out.append(_every_seed(iso, method))
        else:
            out.append({"claim": "isometric_gain_every_seed", "method": method, "passed": None,
                        "text": "not measured: no isometric data set was run"})
        if iso and control is not None:
            out.append(_shrinks(iso, control, method))
        else:
            out.append({"claim": "control_gain_shrinks", "method": method, "passed": None,
                        "text": "not measured: needs an isometric data set and the control"})
    return out


@dataclass(frozen=True, eq=False)
class DisentangleResult:
    """The study's outcome; ``config`` (a DisentangleConfig) is saved beside it."""

    config: Any
    datasets: dict[str, DatasetResult]
    seconds: float
    extra: dict = field(default_factory=dict)

    def table(self, *, per_dataset: bool = True) -> list[dict]:
        """Table 2's shape: rows (scope, method), columns ``METRICS``.

        Scopes: the mean over every data set run, the mean over the isometric ones, then
        (by default) each data set with seed stds.
        """
        runs = list(self.datasets.values())
        rows = mean_rows(runs, "ours: mean over " + ", ".join(self.datasets))
        iso = [d for d in runs if d.name in ISOMETRIC]
        if iso and len(iso) < len(runs):
            rows += mean_rows(iso, "ours: mean over isometric " + ", ".join(d.name for d in iso))
        if per_dataset:
            rows += [r for d in runs for r in d.rows()]
        return rows

    def verdicts(self) -> list[dict]:
        return verdicts(list(self.datasets.values()))

    def to_json_dict(self) -> dict:
        """Config, table, paper's Table 2, verdicts, per-data-set and per-seed records."""
        return json_safe({
            "config": to_dict(self.config), "table": self.table(),
            "paper_table2": list(PAPER_TABLE2), "verdicts": self.verdicts(),
            "methods": {METHOD_LABELS[m]: METHOD_TEXTS[m] for m in METHODS},
            "datasets": {name: d.record() for name, d in self.datasets.items()},
            "seconds": self.seconds, **self.extra})
