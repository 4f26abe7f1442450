"""A resource budget, checked before anything runs: peak memory, duration, a models cap.

``check_budget`` refuses, with one line saying what to lower, a sweep whose estimated peak
memory (``costs.memory``: every process of the tree, summed) is over the budget, or which
trains more models than the cap. The memory budget is ``--max-memory`` / ``max_memory``,
else ``$NEARID_MAX_MEMORY``, else half of the memory available now; the cap is
``max_models``, else ``$NEARID_MAX_MODELS``, else 512. The duration comes from a short
calibration of this machine (``calibration.rates``), cached.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field

from nearid_core.config import SweepConfig
from nearid_core.engine import costs

DEFAULT_MAX_MODELS = 512
GB = 2**30
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
# Each part of the peak: how a message names it, and what lowers it (knob, config path).
_PARTS = {"data": "the copies of the data", "training": "the training state",
          "jacobians": "the B(z) Jacobians and held-out outputs",
          "analysis": "the held-out arrays gathered for the analysis"}
_KNOBS = {
    "data": (("n", "data.n"), ("d_x", "data.d_x"), ("workers", None)),
    "training": (("batch size", "train.batch_size"), ("width", "model.width"),
                 ("seeds", "seeds"), ("n", "data.n")),
    "jacobians": (("seeds", "seeds"), ("d_x", "data.d_x"), ("n", "data.n")),
    "analysis": (("n", "data.n"), ("seeds", "seeds")),
}


class BudgetError(ValueError):
    """A sweep over the budget, or a bad budget setting; the message is one line."""


@dataclass(frozen=True)
class Estimate:
    """What a sweep is expected to cost, and the limits it was checked against.

    peak_bytes : peak resident memory of its process tree on this machine; seconds :
    wall-clock duration (nan when it depends on a cluster of unknown size); n_models,
    workers : the grid's size and the pool's; budget_bytes, max_models : limits (0 when not
    checked); memory : parts of the peak (bytes); times : seconds by stage; phase :
    "training" or "analysis", where the peak falls; cluster : None for this machine's pool,
    else the sweep runs on a Dask cluster with that many worker threads (0: not known yet),
    and the memory is the coordinator's alone.
    """

    peak_bytes: int
    seconds: float
    n_models: int
    workers: int
    budget_bytes: int = 0
    max_models: int = 0
    memory: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    times: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
    phase: str = ""
    cluster: int | None = None

    def summary(self) -> str:
        """E.g. "about 40 s, 0.6 GB"; on a cluster, what the time assumes and whose memory
        it is."""
        if self.cluster is None:
            return f"about {format_seconds(self.seconds)}, {format_bytes(self.peak_bytes)}"
        here = f"{format_bytes(self.peak_bytes)} on this machine (the workers' memory is the "
        if not self.cluster:
            return here + "cluster's; so is the time)"
        return (f"about {format_seconds(self.seconds)} if the cluster's {self.cluster} "
                f"worker threads are as fast as this machine's cores, " + here + "cluster's)")

    @property
    def fits(self) -> bool:
        return ((not self.budget_bytes or self.peak_bytes <= self.budget_bytes)
                and (not self.max_models or self.n_models <= self.max_models))


def _two_digits(x: float) -> str:
    return f"{float(f'{x:.2g}'):g}"


def format_bytes(n: float) -> str:
    """Bytes as GB (2^30), two significant digits: "0.6 GB", "12 GB", "120 GB"."""
    return f"{_two_digits(n / GB)} GB"


def format_seconds(s: float) -> str:
    """Two significant digits, at least 1 s: "4.2 s", "40 s", "12 min", "3.5 h"."""
    if s < 90:
        return f"{_two_digits(max(s, 1.0))} s"
    if s < 90 * 60:
        return f"{_two_digits(s / 60)} min"
    return f"{_two_digits(s / 3600)} h"


def parse_size(text: str) -> int:
    """A memory size in bytes: "4G", "512M", "1.5GB", "2GiB", "800000000".

    Units K, M, G, T are powers of 1024, with or without a trailing "B" or "iB". Raises
    ValueError (one line) on anything else, and on a size that is not positive.
    """
    match = _SIZE_RE.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"must be a size like 4G, 512M or 800000000 (got {str(text)[:40]!r})")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not value >= 1:
        raise ValueError(f"must be a positive size like 4G or 512M (got {str(text)[:40]!r})")
    return int(value)


def available_memory() -> int:
    """Memory available to new processes now: MemAvailable of /proc/meminfo, else the
    physical memory from sysconf."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return 8 * GB  # nothing to go on: a modest laptop


def default_max_memory() -> int:
    """``$NEARID_MAX_MEMORY`` (a ``parse_size`` text), else half of ``available_memory()``.

    Raises BudgetError, naming the variable, when it is set to something that is not a size.
    """
    text = os.environ.get("NEARID_MAX_MEMORY", "").strip()
    if not text:
        return available_memory() // 2
    try:
        return parse_size(text)
    except ValueError as err:
        raise BudgetError(f"NEARID_MAX_MEMORY {err}") from None


def default_max_models() -> int:
    """``$NEARID_MAX_MODELS`` (a positive integer), else 512; BudgetError when bad."""
    text = os.environ.get("NEARID_MAX_MODELS", "").strip()
    if not text:
        return DEFAULT_MAX_MODELS
    if not text.isdigit() or int(text) < 1:
        raise BudgetError(f"NEARID_MAX_MODELS must be a positive integer (got {text[:40]!r})")
    return int(text)


def current_load() -> float:
    """The machine's load average over the last minute (0 where unknown): other work that
    will share the cores with the sweep."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return 0.0


def _workers(workers: int | None) -> int:
    if workers:
        return int(workers)
    from nearid_core.engine.executors import default_workers

    return default_workers()


def estimate(cfg: SweepConfig, *, workers: int | None = None,
             rates: costs.Rates | None = None, warm: bool = False,
             extra_load: float = 0.0, cluster: int | None = None) -> Estimate:
    """Peak memory and duration of a sweep, before it runs.

    Parameters
    ----------
    cfg : SweepConfig
    workers : pool size (default ``executors.default_workers()``).
    rates : this machine's speed (default ``calibration.rates()``: measured once, cached).
    warm : the sweep goes to a warm runner (``costs.seconds``): no start-up costs.
    extra_load : cores that other work will take while the sweep runs, on top of the load
        average now (the app passes the share its server and a local browser take).
    cluster : the sweep's chunks go to a Dask cluster with this many worker threads (0:
        not known; no duration then): the memory is the coordinator's
        (``costs.coordinator_memory``), and the duration assumes those threads are as fast
        as this machine's cores and not shared.

    Returns
    -------
    Estimate (limits left at 0: see ``check_budget``).

    Notes
    -----
    Within about 1.5x of measured peak memory and duration on the benchmarked sizes
    (BENCHMARKS.md). The duration accounts for the machine's load now (``current_load``),
    not for work that starts later.
    """
    if cluster is not None:
        mem = costs.coordinator_memory(cfg)
        if not cluster:
            return Estimate(mem.peak, float("nan"), cfg.n_models, 0, memory=dict(mem.parts),
                            phase=mem.phase, cluster=0)
        k, cpus, load = int(cluster), int(cluster), 0.0
    else:
        k = _workers(workers)
        mem, cpus, load = costs.memory(cfg, k), os.cpu_count() or 1, current_load() + extra_load
    if rates is None:
        from nearid_core.engine.calibration import rates as measured

        rates = measured()
    times = costs.seconds(cfg, k, cpus, rates, load=load, warm=warm)
    return Estimate(mem.peak, times["total"], cfg.n_models, k, memory=dict(mem.parts),
                    times=times, phase=mem.phase, cluster=cluster)


def check_budget(cfg: SweepConfig, *, workers: int | None = None,
                 max_memory: int | None = None, max_models: int | None = None,
                 rates: costs.Rates | None = None, warm: bool = False,
                 extra_load: float = 0.0, cluster: int | None = None) -> Estimate:
    """The sweep's Estimate, with its limits; BudgetError (one line) when it is over them.

    Parameters
    ----------
    cfg : SweepConfig
    workers : pool size (default ``executors.default_workers()``).
    max_memory : bytes (default ``default_max_memory()``).
    max_models : models per sweep (default ``default_max_models()``).
    rates, warm, extra_load, cluster : see ``estimate`` (on a cluster the budget bounds
        this machine's memory: the coordinator's).

    Notes
    -----
    Memory and the cap are checked before the calibration runs, so a refusal is instant.
    """
    cap = int(max_models) if max_models else default_max_models()
    if cfg.n_models > cap:
        raise BudgetError(
            f"{cfg.n_models:,} models ({len(cfg.leaks)} leaks × {cfg.seeds} seeds) is over "
            f"the cap of {cap:,} models per sweep: use fewer leaks or seeds (the cap is "
            f"--max-models or NEARID_MAX_MODELS)")
    budget = int(max_memory) if max_memory else default_max_memory()
    k = _workers(workers) if cluster is None else 0
    mem = _memory(cfg, k, cluster)
    if mem.peak > budget:
        raise BudgetError(_over_memory(cfg, k, mem, budget, cluster))
    return dataclasses.replace(estimate(cfg, workers=k or None, rates=rates, warm=warm,
                                        extra_load=extra_load, cluster=cluster),
                               budget_bytes=budget, max_models=cap)


def _memory(cfg: SweepConfig, workers: int, cluster: int | None) -> costs.Memory:
    return costs.memory(cfg, workers) if cluster is None else costs.coordinator_memory(cfg)


def _over_memory(cfg: SweepConfig, workers: int, mem: costs.Memory, budget: int,
                 cluster: int | None = None) -> str:
    part = mem.largest()
    knobs = [(n, path) for n, path in _KNOBS[part] if path is not None or cluster is None]
    advice = [_largest_fitting(cfg, workers, name, path, budget, cluster)
              for name, path in knobs]
    advice = [a for a in advice if a][:2]
    lower = (" or ".join(advice) if advice
             else "several of " + ", ".join(name for name, _ in _KNOBS[part]))
    return (f"this sweep needs about {format_bytes(mem.peak)} of memory, over the budget of "
            f"{format_bytes(budget)} (--max-memory or NEARID_MAX_MEMORY): lower {lower} "
            f"(the largest part is {_PARTS[part]}, {format_bytes(dict(mem.parts)[part])})")


def _largest_fitting(cfg: SweepConfig, workers: int, name: str, path: str | None,
                     budget: int, cluster: int | None = None) -> str:
    """"n to 180,000": the largest value of one knob (two significant digits) with which
    the sweep fits, others unchanged; "" when there is none."""
    if path is None:  # fewer workers hold fewer copies of the data
        fits = [k for k in range(workers - 1, 0, -1) if costs.memory(cfg, k).peak <= budget]
        return f"--workers to {fits[0]}" if fits else ""

    def ok(value: int) -> bool:
        try:
            return _memory(_set(cfg, path, value), workers, cluster).peak <= budget
        except ValueError:  # not a valid config (e.g. a batch larger than the data)
            return False

    lo, hi = 0, _get(cfg, path)  # the cost grows with the knob: bisect for the last fit
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    if lo < 1:
        return ""
    step = 10 ** max(0, len(str(lo)) - 2)  # round down to two significant digits
    nice = lo // step * step
    return f"{name} to {nice if ok(nice) else lo:,}"


def _get(cfg: SweepConfig, path: str):
    obj = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set(cfg: SweepConfig, path: str, value) -> SweepConfig:
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(cfg, **{head: value})
    return dataclasses.replace(cfg, **{head: dataclasses.replace(getattr(cfg, head),
                                                                 **{rest: value})})
