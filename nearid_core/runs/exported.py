"""Read a sweep exported by ``nearid_core.runs.export`` (numpy and the standard library only).

    >>> from nearid_core.runs.export import load
    >>> sweep = load("sweep.npz")
    >>> m = sweep.model(0)
    >>> m.leak, m.latents.shape, sweep.fit_idx.shape

This module imports nothing else from nearid, so it can be copied next to the file and used
without nearid installed. The names of the arrays are listed in ``nearid_core.runs.export``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import IO

import numpy as np

FORMAT = "nearid-export/1"


@dataclass
class ExportedModel:
    """One model of an exported sweep.

    ``arrays`` holds its ``model{k}_*`` arrays without the prefix (``latents`` (n, d_z),
    ``b`` (n,), ``ica_latents``, ``w_enc_w0`` ...); an array that was not saved is absent.
    """

    index: int
    id: str
    leak: float
    seed: int
    status: str
    reason: str | None
    metrics: dict
    timings: dict
    progress_loss: list
    missing: list[str]
    arrays: dict[str, np.ndarray] = field(repr=False)

    def get(self, name: str) -> np.ndarray | None:
        """The array ``model{k}_<name>``, or None when it was not saved."""
        return self.arrays.get(name)

    @property
    def latents(self) -> np.ndarray | None:
        """(n, d_z) held-out latents."""
        return self.arrays.get("latents")

    @property
    def ica_latents(self) -> np.ndarray | None:
        """(n, d_z) latents after the analysis's ICA."""
        return self.arrays.get("ica_latents")

    @property
    def b(self) -> np.ndarray | None:
        """(n,) B(z) of the decoder at each held-out latent."""
        return self.arrays.get("b")

    def layers(self, part: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """(weight (out, in), bias (out,)) of each layer of ``part`` ("enc" or "dec"), as the
        network computes with them (orthonormalised for an orthogonal decoder)."""
        out, j = [], 0
        while f"w_{part}_w{j}" in self.arrays:
            w = self.arrays.get(f"w_{part}_w{j}_effective", self.arrays[f"w_{part}_w{j}"])
            out.append((w, self.arrays[f"w_{part}_b{j}"]))
            j += 1
        return out

    def forward(self, part: str, x: np.ndarray) -> np.ndarray:
        """Run the encoder ("enc", x (n, d_x) -> z (n, d_z)) or decoder ("dec") in float64.

        Notes
        -----
        LeakyReLU with negative slope ``1 - leak`` after every hidden layer, as trained;
        the network ran in float32, so expect agreement to float32 rounding, not exactly.
        """
        h, slope = np.asarray(x, np.float64), 1.0 - self.leak
        layers = self.layers(part)
        for k, (w, b) in enumerate(layers):
            h = h @ w.astype(np.float64).T + b.astype(np.float64)
            if k < len(layers) - 1:
                h = np.where(h > 0, h, slope * h)
        return h


@dataclass
class ExportedSweep:
    """A sweep read back from its export (see the module docstring for every name).

    Attributes
    ----------
    sweep, config : dicts; analysis : dict or None; missing : lines saying what the file
    lacks; x_test (n, d_x), u_test (n, d_u), test_idx (n,); fit_idx, eval_idx, split_seed:
    the alignment split; models : one ``ExportedModel`` per model, by index; pairs : one
    dict per statistical pair (``leak``, ``a``, ``b`` model indices, and its stored
    errors by group); arrays : every array of the file by its name.
    """

    format: str
    sweep: dict
    config: dict
    analysis: dict | None
    missing: list[str]
    x_test: np.ndarray
    u_test: np.ndarray
    test_idx: np.ndarray
    fit_idx: np.ndarray
    eval_idx: np.ndarray
    split_seed: int
    models: list[ExportedModel]
    pairs: list[dict]
    arrays: dict[str, np.ndarray] = field(repr=False)

    def model(self, index: int) -> ExportedModel:
        """The model with this index (KeyError if the sweep has none)."""
        for m in self.models:
            if m.index == index:
                return m
        raise KeyError(f"the export has no model {index}")


def load(path: str | os.PathLike | IO[bytes]) -> ExportedSweep:
    """Read an export written by ``export_npz`` / ``export_bytes`` (numpy and json only).

    Parameters
    ----------
    path : a file name or a binary file object.

    Returns
    -------
    ExportedSweep

    Notes
    -----
    Loads with ``allow_pickle=False``; raises ValueError for a file of another format.
    """
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if "format" not in arrays or str(arrays["format"]) != FORMAT:
        raise ValueError(f"not a {FORMAT} file (an older nearid export, or another file)")
    doc = {k: json.loads(str(arrays[f"{k}_json"]))
           for k in ("sweep", "config", "analysis", "models", "missing")}
    models = []
    for m in doc["models"]:
        prefix = f"model{m['index']}_"
        own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        models.append(ExportedModel(
            m["index"], m["id"], m["leak"], m["seed"], m["status"], m["reason"], m["metrics"],
            m["timings"], m["progress_loss"], m["missing"], own))
    groups = [k[len("pair_"):] for k in arrays if k.startswith("pair_")
              and k not in ("pair_models", "pair_leak")]
    pairs = [{"leak": float(arrays["pair_leak"][p]), "a": int(a), "b": int(b),
              **{g: float(arrays[f"pair_{g}"][p]) for g in groups}}
             for p, (a, b) in enumerate(arrays.get("pair_models", np.zeros((0, 2), int)))]
    return ExportedSweep(
        FORMAT, doc["sweep"], doc["config"], doc["analysis"], doc["missing"],
        arrays["x_test"], arrays["u_test"], arrays["test_idx"], arrays["split_fit_idx"],
        arrays["split_eval_idx"], int(arrays["split_seed"]), models, pairs, arrays)
