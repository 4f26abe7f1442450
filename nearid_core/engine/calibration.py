"""How fast this machine trains: a short timed run, cached on disk per machine.

Two tiny ensembles are trained for a few dozen steps (about 0.5 s in all once torch is
imported): one so small that its step time is the fixed overhead, one whose step time is
mostly compute. Their median step times give ``costs.Rates`` (overhead per step, compute
speed relative to the reference machine). The result is cached in a JSON file keyed by
host name, torch version and CPU count: ``$NEARID_CALIBRATION``, else
``$XDG_CACHE_HOME/nearid/calibration.json``, else ``~/.cache/nearid/calibration.json``.
A missing, corrupt or unwritable file means measuring again, never an error; delete the
file to measure again (a machine busy at that moment measures slow).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.engine.costs import Rates, Shape, step_work

# (models, batch, width, d_x, steps): overhead-bound, then compute-bound (~10 ms a step).
_PROBES = ((1, 8, 4, 8, 40), (8, 256, 64, 64, 20))
_WARM_STEPS = 3  # first steps, not timed (allocations, first dispatch)
_MEASURING = threading.Lock()
_RATES: dict[str, Rates] = {}  # this process's rates, by machine key


def cache_path() -> Path:
    """Where the calibration is cached (see the module's docstring)."""
    if os.environ.get("NEARID_CALIBRATION"):
        return Path(os.environ["NEARID_CALIBRATION"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nearid" / "calibration.json"


def machine_key() -> str:
    """Host name, torch version and CPU count (without importing torch)."""
    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = "?"
    return f"{socket.gethostname()}|torch {torch_version}|cpus {os.cpu_count()}"


def rates() -> Rates:
    """This machine's rates: from this process's memory, else the cache file, else measured
    now (and cached). Thread-safe; measures at most once per process at a time."""
    found = cached_rates()
    if found is not None:
        return found
    with _MEASURING:  # one measurement at a time; readers are not held up meanwhile
        key = machine_key()
        found = _RATES.get(key) or _read(cache_path(), key) or _measure_and_save(
            cache_path(), key)
        _RATES[key] = found
        return found


def cached_rates() -> Rates | None:
    """This machine's rates if known without measuring (this process, or the cache file)."""
    key = machine_key()
    if key not in _RATES and (found := _read(cache_path(), key)) is not None:
        _RATES[key] = found
    return _RATES.get(key)


def _read(path: Path, key: str) -> Rates | None:
    try:
        entry = json.loads(path.read_text())[key]
        found = Rates(float(entry["overhead_s"]), float(entry["scale"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = 0 < found.overhead_s < 1 and 0 < found.scale < 1000  # a sane, finite entry
    return found if ok else None


def _measure_and_save(path: Path, key: str) -> Rates:
    found = measure()
    try:
        doc = json.loads(path.read_text())
        doc = doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        doc = {}
    doc[key] = {"overhead_s": found.overhead_s, "scale": found.scale,
                "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False,
                                         suffix=".tmp") as fh:
            json.dump(doc, fh, indent=1)
        os.replace(fh.name, path)
    except OSError:  # read-only home: measure again next process
        pass
    return found


def measure() -> Rates:
    """Time the two probes on one torch thread and solve ``t = overhead + scale * work``.

    Notes
    -----
    About 0.5 s. Each probe's median step time is used. A busy machine measures slow, and
    the estimate follows it; the result is clamped to a sane range so that one unlucky run
    cannot give nonsense.
    """
    import numpy as np
    import torch

    from nearid_core.science.training import train_ensemble

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a pool worker
    try:
        times, works = [], []
        for m, b, w, d_x, steps in _PROBES:
            cfg = SweepConfig(data=DataConfig(d_x=d_x, n=2 * b * steps),
                              model=ModelConfig(width=w), train=TrainConfig(batch_size=b),
                              leaks=(0.5,), seeds=m)
            x = np.random.default_rng(0).standard_normal((b * steps, d_x)).astype(np.float32)
            stamps: list[float] = []
            train_ensemble(x, cfg.model, cfg.data, TrainConfig(epochs=1, batch_size=b),
                           [0.5] * m, range(m), threads=None,
                           on_step=lambda _info, t=stamps: t.append(time.perf_counter()))
            # The median step: robust to another process taking the core for a moment.
            times.append(float(np.median(np.diff(stamps[_WARM_STEPS:]))))
            works.append(step_work(Shape.of(cfg), m))
    finally:
        torch.set_num_threads(threads)
    scale = (times[1] - times[0]) / (works[1] - works[0])
    scale = min(max(scale, 0.2), 50.0)
    overhead = min(max(times[0] - scale * works[0], 2e-4), 0.1)
    return Rates(overhead, scale)
