"""Held-out latents of a stored sweep's models, named for a comparison (``compare --sweep``
and the app's Compare page); re-exported by ``runs.comparisons``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nearid_core.runs._sqlite import StoreError

if TYPE_CHECKING:
    from nearid_core.runs.store import RunStore

__all__ = ["default_model_indices", "model_name", "sweep_embeddings"]

DEFAULT_LEAKS, DEFAULT_SEEDS = 3, 2  # see default_model_indices


def model_name(run: dict) -> str:
    """How a sweep's model is named in a comparison, e.g. ``α=0.2 · seed 1 (#5)``."""
    return f"α={run['leak']:g} · seed {run['seed']} (#{run['index']})"


def default_model_indices(runs: list[dict]) -> list[int]:
    """The models compared when none are chosen: the first ``DEFAULT_SEEDS`` done seeds of
    the lowest, middle and highest leak (all leaks when there are at most three)."""
    done = [r for r in runs if r["status"] == "done"]
    leaks = sorted({r["leak"] for r in done})
    if len(leaks) > DEFAULT_LEAKS:
        leaks = [leaks[0], leaks[len(leaks) // 2], leaks[-1]]
    return [r["index"] for leak in leaks
            for r in [r for r in done if r["leak"] == leak][:DEFAULT_SEEDS]]


def _chosen(runs: list[dict], sweep_id: str, indices: list[int] | None) -> list[dict]:
    if indices is None:
        return [r for r in runs if r["status"] == "done"]
    by_index = {r["index"]: r for r in runs}
    out: list[dict] = []
    for i in indices:
        r = by_index.get(i)
        if r is None:
            raise StoreError(f"sweep {sweep_id} has no model #{i} (it has #0-#{len(runs) - 1})")
        if r["status"] != "done":
            why = f": {r['reason']}" if r.get("reason") else ""
            raise StoreError(f"model #{i} of sweep {sweep_id} is {r['status']}{why}; "
                             "only done models have held-out latents")
        if any(o["index"] == i for o in out):
            raise StoreError(f"model #{i} is chosen twice")
        out.append(r)
    return out


def sweep_embeddings(store: RunStore, sweep_id: str, indices: list[int] | None = None,
                     ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Held-out latents of a stored sweep's done models, and the sweep's ground truth.

    Parameters
    ----------
    store : RunStore
    sweep_id : str
        Id or unique prefix.
    indices : list of int, optional
        Model indices (as ``show`` lists them); None: every done model.

    Returns
    -------
    embeddings : dict of str to ndarray (n_test, d_z)
        Named by ``model_name``, e.g. ``"α=0.2 · seed 1 (#5)"``, in the order given.
    u_test : ndarray (n_test, d_u)
        The ground-truth factors of the same held-out rows.

    Notes
    -----
    StoreError for an unknown sweep or model, a model that is not done, or missing files.
    """
    sid = store.get_sweep(sweep_id)["id"]
    chosen = _chosen(store.list_runs(sid), sid, indices)
    embeddings = {model_name(r): store.load_arrays(r["id"], "heldout")["latents"]
                  for r in chosen}
    return embeddings, store.load_sweep_arrays(sid, "data")["u_test"]
