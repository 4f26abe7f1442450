"""The paper's Tables 2–4 analogues as jobs of the run store: submit, run, load.

A study is one row of the ``sweeps`` table whose config is ``{"study": KIND, "settings":
{...}}`` and which has no runs, so it shares everything a sweep has: the queue and the
background runner (``run_sweep_job`` hands it here), progress and cancel, owner heartbeats
and the truth after any kill, rename, delete and the artefact folder. ``list_sweeps()``
leaves studies out; ``list_sweeps(kind=KIND)`` lists them.

Kinds (``STUDIES``):

- ``disentangle``: ``studies.disentangle.run_disentangle``; the result document is
  ``DisentangleResult.to_json_dict()``; the traversal images of every shapes model are the
  study's ``traversals`` arrays (``<data set>_<seed index>_<code>`` -> (axes, steps, s, s)
  float32, and ``values``).
- ``batch``: ``studies.batch.paired_difference`` over ``seeds`` screens, then, when
  ``strengths`` is not empty, ``strength_sweep`` at each strength over ``strength_seeds``
  screens; the document holds the first screen, the paired difference, the strength sweep,
  the paper's numbers and the definitions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from nearid_core.config import json_safe
from nearid_core.engine import faults
from nearid_core.engine.executors import executor_or_default
from nearid_core.runs.store import RunStore

__all__ = ["BATCH_DEFAULTS", "STUDIES", "STUDY_TITLES", "StudyOutcome", "StudyProgress",
           "batch_config",
           "disentangle_config", "load_traversals", "run_study_job", "study_settings",
           "submit_study"]

STUDIES = ("disentangle", "batch")
STUDY_TITLES = {"disentangle": "Disentanglement (Table 2)",
                "batch": "Batch effects (Tables 3–4)"}
# The batch study's own settings beside BatchConfig's: screens for the paired difference,
# and the batch-effect strength sweep (each strength over strength_seeds screens).
BATCH_DEFAULTS = {"seeds": 5, "strengths": (0.0, 1.0, 2.0, 4.0, 8.0), "strength_seeds": 3}
TRAVERSAL_STEPS = 7


@dataclasses.dataclass(frozen=True)
class StudyProgress:
    """What ``on_progress`` sees: share done and the current stage."""

    fraction: float
    message: str


@dataclasses.dataclass(frozen=True, eq=False)
class StudyOutcome:
    """A finished study: the stored document and the study's own result for printing
    (a ``DisentangleResult``; for the batch study ``(PairedDifference, strength rows)``)."""

    document: dict
    result: Any


def disentangle_config(settings: dict[str, Any]):
    """A DisentangleConfig from stored (or user) settings; ValueError names a bad one."""
    from nearid_core.studies.disentangle import DisentangleConfig

    return DisentangleConfig(**_known(DisentangleConfig, settings))


def batch_config(settings: dict[str, Any]):
    """(BatchConfig, seeds, strengths, strength_seeds) from stored (or user) settings."""
    from nearid_core.science.batch_data import ScreenConfig
    from nearid_core.studies.batch import BatchConfig

    s = dict(settings)
    screen = ScreenConfig(**_known(ScreenConfig, s.pop("screen", None) or {}))
    rest = _known(BatchConfig, s, extra=tuple(BATCH_DEFAULTS))
    if rest.get("held_out") is not None:
        rest["held_out"] = tuple(int(b) for b in rest["held_out"])
    cfg = BatchConfig(screen=screen, **rest)
    seeds = int(s.get("seeds", BATCH_DEFAULTS["seeds"]))
    strengths = tuple(float(x) for x in s.get("strengths", BATCH_DEFAULTS["strengths"]))
    strength_seeds = int(s.get("strength_seeds", BATCH_DEFAULTS["strength_seeds"]))
    if not 2 <= seeds <= 100:
        raise ValueError(f"seeds (screens for the paired difference) must be in [2, 100], "
                         f"got {seeds}")
    if not 2 <= strength_seeds <= 20:
        raise ValueError(f"strength_seeds must be in [2, 20], got {strength_seeds}")
    if len(strengths) > 12 or any(not 0.0 <= x <= 10.0 for x in strengths):
        raise ValueError(f"strengths must be at most 12 values in [0, 10], got {strengths}")
    return cfg, seeds, strengths, strength_seeds


def _known(cls, settings: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings that are fields of ``cls``; ValueError for a name neither it nor
    ``extra`` knows (a typo would otherwise be dropped silently)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - names - set(extra))
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting {unknown[0]!r}")
    return {k: v for k, v in settings.items() if k in names}


def study_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The complete settings (every default filled in), checked; ValueError otherwise."""
    if kind == "disentangle":
        return json_safe(dataclasses.asdict(disentangle_config(settings)))
    if kind == "batch":
        cfg, seeds, strengths, strength_seeds = batch_config(settings)
        return json_safe({**dataclasses.asdict(cfg), "seeds": seeds, "strengths": strengths,
                          "strength_seeds": strength_seeds})
    raise ValueError(f"no study kind {kind!r}; kinds: {', '.join(STUDIES)}")


def submit_study(store: RunStore, kind: str, settings: dict[str, Any], *, name: str = "",
                 claim: bool = False) -> str:
    """Check the settings and record the study (``queued`` for the runner, or ``running``
    owned by this process with ``claim``); return its id. ValueError before any write."""
    full = study_settings(kind, settings)
    return store.create_sweep({"study": kind, "settings": full}, name=name, runs=[],
                              claim=claim)


def run_study_job(store: RunStore, study_id: str, *, executor: Executor | None = None,
                  on_progress: Callable[[StudyProgress], None] | None = None,
                  workers: int | None = None) -> StudyOutcome | None:
    """Run one stored study as its owner; return its outcome, or None when it was
    cancelled (or not this process's to run).

    Ends ``done`` with the document in the row's ``analysis``; on an error ``failed`` with
    the reason, on SIGINT/SIGTERM ``interrupted``, and the exception is re-raised. A
    heartbeat proves the owner alive meanwhile, as for sweeps.
    """
    if not store.start_sweep(study_id, message="starting"):
        return None
    row = store.get_sweep(study_id)
    kind, settings = row["config"]["study"], row["config"]["settings"]
    t0 = time.perf_counter()

    def report(fraction: float, message: str) -> bool:
        if on_progress is not None:
            on_progress(StudyProgress(fraction, message))
        if fraction > 0:
            faults.checkpoint("training")
        # False when the study is no longer running: cancelled by the user.
        return not store.set_runs_progress(study_id, min(max(fraction, 0.0), 0.99), {},
                                           message=message)

    with store.owned(study_id):
        with executor_or_default(executor, workers) as ex:
            outcome = _RUN[kind](store, study_id, settings, report, ex)
        if outcome is None:
            return None
        store.set_sweep_analysis(study_id, outcome.document)
        faults.checkpoint("status")
        done = store.finish_sweep(study_id, "done", message="done",
                                  timings={"seconds": time.perf_counter() - t0})
    return outcome if done else None


def _run_disentangle(store: RunStore, study_id: str, settings: dict, report,
                     ex) -> StudyOutcome | None:
    from nearid_core.studies.disentangle import (
        DisentangleCancelled,
        run_disentangle,
        traversal_grids,
    )

    try:
        result = run_disentangle(disentangle_config(settings),
                                 on_progress=lambda p: report(0.95 * p.fraction, p.message),
                                 executor=ex)
    except DisentangleCancelled:
        return None
    if report(0.95, "drawing latent traversals"):
        return None
    arrays: dict[str, np.ndarray] = {}
    for name, d in result.datasets.items():
        if d.decoder is None:
            continue
        for k in range(len(d.models)):
            grids = traversal_grids(d, seed_index=k, steps=TRAVERSAL_STEPS)
            for code in ("before", "ica_k", "ica_all"):
                arrays[f"{name}_{k}_{code}"] = getattr(grids, code).astype(np.float32)
            arrays["values"] = grids.values
    if arrays:
        store.save_sweep_arrays(study_id, "traversals", arrays)
    return StudyOutcome(result.to_json_dict(), result)


def _run_batch(store: RunStore, study_id: str, settings: dict, report,
               ex) -> StudyOutcome | None:
    from nearid_core.studies.batch import (
        DEFINITIONS,
        PAPER_TABLES,
        BatchCancelled,
        paired_difference,
        strength_sweep,
    )

    cfg, seeds, strengths, strength_seeds = batch_config(settings)
    share = seeds / (seeds + len(strengths) * strength_seeds)  # progress: by screens
    try:
        paired = paired_difference(cfg, seeds, on_progress=lambda p: report(
            share * p.fraction, p.message))
        sweep = strength_sweep(cfg, strengths, seeds=strength_seeds, on_progress=lambda p: (
            report(share + (1 - share) * p.fraction, f"strength sweep: {p.message}")))
    except BatchCancelled:
        return None
    train = [b for b in range(cfg.screen.batches) if b not in cfg.held_out]
    return StudyOutcome(json_safe({
        "first_screen": paired.results[0].to_json_dict(),
        "paired_difference": paired.to_json_dict(), "strength_sweep": sweep,
        "settings": {"seeds": seeds, "strengths": strengths,
                     "strength_seeds": strength_seeds},
        "paper": PAPER_TABLES,
        "definitions": DEFINITIONS.format(C=cfg.C, train=", ".join(map(str, train)),
                                          held=", ".join(map(str, cfg.held_out)))}),
        (paired, sweep))


_RUN = {"disentangle": _run_disentangle, "batch": _run_batch}


def load_traversals(store: RunStore, study_id: str) -> dict[str, np.ndarray]:
    """A disentangle study's traversal images ({} when it has none: no shapes data)."""
    if "traversals" not in store.list_sweep_arrays(study_id):
        return {}
    return store.load_sweep_arrays(study_id, "traversals")
