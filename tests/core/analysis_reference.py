"""A fixed analysis input and its recorded outputs, to show which analysis numbers move.

``cases()`` builds latents of seven "models" from seeded numpy draws only (no training, so the
same on every machine): rotations, smooth non-linear bends and noise levels chosen so that the
InfoE fits meet every path they meet on trained sweeps (finite optima, near-separable bins,
and bins the latents separate perfectly). ``outputs()`` flattens ``analyse_model`` and
``analyse_pairs`` on them. Run this file to rewrite ``tests/data/analysis_reference.json``
(only when a change of the numbers is intended and stated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from nearid_core.studies.analysis import analyse_model, analyse_pairs

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "analysis_reference.json"
N = 1638  # the default sweep's held-out rows


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def cases() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(u, {name: latents}); the names' prefix is the "leak" group of the pairs."""
    rng = np.random.default_rng(20261129)
    u = rng.uniform(-1.7, 1.7, (N, 2))
    noise = rng.standard_normal((12, N, 2))
    bend = np.array([[1.0, 0.4], [-0.3, 0.8]])
    z = {
        # almost exact rotations: bins the latents separate, optimum at infinity; the first
        # two stall where the InfoE Newton fit hands over to scikit-learn
        "a0": u @ _rotation(70).T + 1e-3 * noise[4],
        "a1": u @ _rotation(100).T + 3e-3 * noise[6],
        "a2": u @ _rotation(25).T + 1e-3 * noise[0],
        "a3": np.tanh(0.8 * u @ bend.T) + 2e-3 * noise[2],  # bent, nearly noise-free
        "b0": u @ _rotation(10).T + 0.05 * noise[3],  # noisy: finite optima
        "b1": np.tanh(0.6 * u) @ _rotation(55).T + 0.08 * noise[5],
        "b2": u + 0.3 * np.sin(u[:, ::-1]) + 0.03 * noise[7],
    }
    return u, z


def _floats(d: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _floats(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool):
            out[prefix + k] = float(v)
    return out


def outputs() -> dict[str, float]:
    """Every number the analysis stores for the fixed input, by a flat dotted name."""
    u, z = cases()
    out = {}
    for name, zi in z.items():
        res, ica = analyse_model(zi, u, seed=0)
        out |= _floats(res, f"model.{name}.")
        out[f"model.{name}.ica_latents_sum"] = float(np.abs(ica["latents"]).sum())
    for group in ("a", "b"):
        for p in analyse_pairs([zi for name, zi in z.items() if name[0] == group], seed=0):
            out |= _floats({k: v for k, v in p.items() if k not in ("i", "j")},
                           f"pairs.{group}.{p['i']}{p['j']}.")
    return out


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps(outputs(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE}", file=sys.stderr)
