"""One ``.npz`` file per sweep, for the command line's ``export`` and the app's download.

Everything needed to recompute a stored number outside nearid, as plain arrays
(``numpy.load(path, allow_pickle=False)``), with one naming scheme:

sweep-wide
    ``format`` (``"nearid-export/1"``); ``sweep_json`` (id, name, status, reason, created_at,
    timings), ``config_json`` (the SweepConfig), ``analysis_json`` (the stored analysis, or
    null), ``models_json`` (per model: index, id, leak, seed, status, reason, metrics,
    timings, ``progress_loss`` = the losses sampled while training, ``arrays`` and
    ``missing``), ``missing_json`` (one line per thing that is not in the file, and why);
    ``x_test`` (n, d_x), ``u_test`` (n, d_u), ``test_idx`` (n,); ``split_fit_idx``
    (n // 2,), ``split_eval_idx`` (n - n // 2,) and ``split_seed``: the rows of ``x_test``
    every alignment error is fitted and scored on (``alignment.split_fit_eval(n,
    seed=split_seed)``); ``model_index``, ``model_leak``, ``model_seed``, ``model_status``
    (M,); ``pair_models`` (P, 2) model indices (reference, candidate) of every statistical
    pair, ``pair_leak`` (P,) and ``pair_<group>`` (P,) their stored errors.
per model ``k`` (what was saved)
    ``model{k}_latents`` (n, d_z), ``model{k}_b``, ``model{k}_distortion`` (n,),
    ``model{k}_singular_values`` (n, d_z), ``model{k}_epoch_loss`` (epochs,) mean training
    loss per epoch; ``model{k}_ica_latents`` (n, d_z), ``model{k}_ica_unmixing``,
    ``model{k}_ica_mixing``, ``model{k}_ica_mean`` (as saved by the analysis:
    ``latents = (z - mean) @ unmixing.T``); ``model{k}_w_<name>`` float32, every tensor of
    the stored state_dict (``enc_w0`` (w, d_x) ... ``dec_b2``, ``slopes`` = 1 - leak), plus
    ``model{k}_w_dec_w{j}_effective`` for an orthogonal decoder (its raw weights are
    orthonormalised before use; these are the weights it computes with).

``load`` (from ``exported``, which imports numpy alone) reads it back into an
``ExportedSweep``. The bytes depend only on
the stored sweep (fixed zip timestamps), so the same sweep always exports the same file.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from nearid_core.runs.exported import FORMAT, ExportedModel, ExportedSweep, load

__all__ = ["FORMAT", "ExportedModel", "ExportedSweep", "export_bytes", "export_npz", "load",
           "sweep_arrays", "sweep_document", "write_npz"]
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip timestamps: fixed, so that the bytes are reproducible
_HELD_NAMES = {"loss_history": "epoch_loss"}  # the saved name -> the name that says what it is


# ---------------------------------------------------------------- writing


def sweep_arrays(store, sweep_id: str) -> dict[str, np.ndarray]:
    """Every array of a stored sweep under the export's names (see the module docstring).

    Parameters
    ----------
    store : RunStore
    sweep_id : id or unique prefix.

    Returns
    -------
    dict of str to ndarray; no object arrays.

    Notes
    -----
    The held-out data (``data.npz``) is required: without it the rows mean nothing, so its
    absence raises ``StoreError`` and its damage ``DamagedArtefact``. A model's missing or
    unreadable arrays or weights are left out and named in ``missing_json`` and in that
    model's ``missing``; what exists is exported.
    """
    from nearid_core.runs.store import StoreError

    sweep = store.get_sweep(sweep_id)
    sid, cfg, analysis = sweep["id"], sweep["config"], sweep["analysis"]
    if "data" not in store.list_sweep_arrays(sid):
        raise StoreError(f"sweep {sid} has no saved held-out data")
    out: dict[str, np.ndarray] = {"format": np.array(FORMAT)}
    out |= store.load_sweep_arrays(sid, "data")
    runs = store.list_runs(sid)
    docs, missing = [], []
    for r in runs:
        arrays, lost = _model_arrays(store, r, orthogonal=cfg["model"]["decoder"] ==
                                     "orthogonal")
        out |= {f"model{r['index']}_{k}": v for k, v in arrays.items()}
        docs.append(_model_doc(r, sorted(arrays), lost))
        missing += [f"model {r['index']} (leak {r['leak']:g}, seed {r['seed']}, "
                    f"{r['status']}): {line}" for line in lost]
    if not analysis:
        missing.append(f"analysis: none stored (the sweep is {sweep['status']})")
    n = len(out["test_idx"])
    out["split_fit_idx"], out["split_eval_idx"] = _split(n, cfg["seed"])
    out["split_seed"] = np.array(cfg["seed"], dtype=np.int64)
    out["model_index"] = np.array([r["index"] for r in runs], dtype=np.int64)
    out["model_leak"] = np.array([r["leak"] for r in runs], dtype=np.float64)
    out["model_seed"] = np.array([r["seed"] for r in runs], dtype=np.int64)
    out["model_status"] = np.array([r["status"] for r in runs], dtype=str)
    out |= _pair_arrays(analysis, runs)
    meta = {k: sweep[k] for k in ("id", "name", "status", "reason", "created_at", "timings")}
    out |= {"sweep_json": _json(meta), "config_json": _json(cfg),
            "analysis_json": _json(analysis or None), "models_json": _json(docs),
            "missing_json": _json(missing)}
    return out


def _json(value: Any) -> np.ndarray:
    return np.array(json.dumps(value, sort_keys=True))


def _split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from nearid_core.science.alignment import (
        split_fit_eval,  # the analysis's own split (analysis.py)
    )

    return split_fit_eval(n, seed=seed)


def _model_doc(run: dict, arrays: list[str], missing: list[str]) -> dict:
    doc = {k: run[k] for k in ("index", "id", "leak", "seed", "status", "reason", "metrics",
                               "timings")}
    return doc | {"progress_loss": run["loss_history"], "arrays": arrays, "missing": missing}


def _model_arrays(store, run: dict, *, orthogonal: bool) -> tuple[dict, list[str]]:
    """(arrays under the export's per-model names, lines saying what is missing)."""
    from nearid_core.runs.store import DamagedArtefact, StoreError

    rid, saved = run["id"], set(store.list_arrays(run["id"]))
    out, lost = {}, []
    for name, what in (("heldout", "held-out arrays"), ("ica", "ICA")):
        try:
            arrays = store.load_arrays(rid, name) if name in saved else None
        except DamagedArtefact as err:
            lost.append(f"{what} damaged ({err.message})")
            continue
        if arrays is None:
            lost.append(f"no {what} ({name}.npz {_why_absent(run, name)})")
        elif name == "heldout":
            out |= {_HELD_NAMES.get(k, k): v for k, v in arrays.items()}
        else:
            out |= {f"ica_{k}": v for k, v in arrays.items()}
    try:
        out |= _weights(store.load_state_dict(rid), orthogonal)
    except DamagedArtefact as err:
        lost.append(f"weights damaged ({err.message})")
    except StoreError:
        lost.append(f"no weights (state_dict.pt {_why_absent(run, 'weights')})")
    if len(lost) == 3 and run["status"] not in ("done",):
        lost = [f"nothing saved (the model is {run['status']})"]
    return out, lost


def _why_absent(run: dict, name: str) -> str:
    if run["status"] == "done" and name == "ica":
        return "absent: the model was not analysed"
    return "absent" if run["status"] == "done" else f"absent: the model is {run['status']}"


def _weights(state: dict, orthogonal: bool) -> dict[str, np.ndarray]:
    """Each state_dict tensor as a float32 array ``w_<name>``; orthonormalised decoder
    weights as ``w_<name>_effective`` when the decoder is orthogonal."""
    out = {f"w_{_safe(k)}": v.detach().cpu().numpy().astype(np.float32)
           for k, v in state.items()}
    if orthogonal:
        from nearid_core.science.models import orthonormalise

        for k, v in state.items():
            if re.fullmatch(r"dec_w\d+", k):
                out[f"w_{k}_effective"] = orthonormalise(v.detach()).numpy().astype(np.float32)
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", name)


def _pair_arrays(analysis: dict | None, runs: list[dict]) -> dict[str, np.ndarray]:
    """Statistical pairs with the model indices they compared (the analysis numbers the
    analysed models of each leak in index order and stores positions in that list)."""
    if not analysis or not analysis.get("pairs"):
        return {}
    leak_of = {r["index"]: r["leak"] for r in runs}
    analysed = sorted(int(k) for k in analysis.get("per_model", {}))
    rows = []
    for key, pairs in analysis["pairs"].items():
        at = [k for k in analysed if leak_of.get(k) == float(key)]
        rows += [(float(key), at[p["i"]], at[p["j"]], p) for p in pairs]
    groups = sorted({g for *_, p in rows for g, v in p.items() if g not in ("i", "j")
                     and isinstance(v, (int, float)) and not isinstance(v, bool)})
    out = {"pair_models": np.array([(a, b) for _, a, b, _ in rows], dtype=np.int64)
           .reshape(-1, 2), "pair_leak": np.array([r[0] for r in rows], dtype=np.float64)}
    for g in groups:
        out[f"pair_{g}"] = np.array([p.get(g, np.nan) for *_, p in rows], dtype=np.float64)
    return out


def write_npz(fh: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an ``.npz`` (deflated) whose bytes depend only on the arrays."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(value), allow_pickle=False)


def export_bytes(store, sweep_id: str) -> bytes:
    """The export of a sweep as bytes (the app's download; same bytes as ``export_npz``)."""
    buf = io.BytesIO()
    write_npz(buf, sweep_arrays(store, sweep_id))
    return buf.getvalue()


def export_npz(store, sweep_id: str, path: str | os.PathLike) -> list[str]:
    """Write the export of a sweep to ``path`` atomically; return what it lacks (lines)."""
    from nearid_core.runs._files import atomic_write

    arrays = sweep_arrays(store, sweep_id)
    atomic_write(Path(path), lambda fh: write_npz(fh, arrays))
    return json.loads(str(arrays["missing_json"]))


def sweep_document(store, sweep_id: str) -> dict:
    """A sweep's settings, status, timings, analysis and per-model rows as one JSON-able
    dict, with the export's names (``progress_loss``: the losses sampled while training)."""
    sweep = store.get_sweep(sweep_id)
    models = [_model_doc(r, [], [])for r in store.list_runs(sweep["id"])]
    for m in models:
        del m["arrays"], m["missing"]
    return {"sweep": sweep["id"], "name": sweep["name"], "status": sweep["status"],
            "reason": sweep["reason"], "settings": sweep["config"],
            "timings": sweep["timings"], "analysis": sweep["analysis"], "models": models}
