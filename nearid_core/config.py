"""Frozen, validated configuration dataclasses and their stable ids.

Configs are the cache keys of the app and are saved beside every result, so they are
frozen, JSON-serialisable, and validated in ``__post_init__`` with messages that name the
field, the rule and the value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

DATA_KINDS = ("rolled", "linear", "square", "mlp")
SOURCES = ("uniform", "laplace", "gaussian")
DECODERS = ("orthogonal", "free")
DEFAULT_LEAKS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.95)
# Model seeds are ``seed * 1000 + k``: this keeps them inside SQLite's 64-bit INTEGER and
# torch.manual_seed's range with room to spare.
MAX_SEED = 10**15
# Uniform sources have unit variance, so they live in [-sqrt(3), sqrt(3)].
UNIFORM_HALF_WIDTH = math.sqrt(3.0)


def _require(ok: bool, cls: str, name: str, rule: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"{cls}.{name} must be {rule} (got {value!r})")


def _check_int(cls: str, name: str, value: Any, lo: int, hi: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= lo
    ok = ok and (hi is None or value <= hi)
    rule = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    _require(ok, cls, name, rule, value)


def _check_real(cls: str, name: str, value: Any, lo: float, hi: float | None = None,
                *, lo_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo) and (hi is None or value <= hi)
    lo_s = f"> {lo}" if lo_open else f">= {lo}"
    rule = f"a finite number {lo_s}" + ("" if hi is None else f" and <= {hi}")
    _require(ok, cls, name, rule, value)


@dataclass(frozen=True)
class DataConfig:
    """A data-generating process: ground-truth factors ``u`` and observations ``x = g(u)``.

    kind: ``rolled`` (exact isometry, curvature set by ``radius``), ``linear``, ``square``
    (images of a soft square at position ``u``), ``mlp`` (non-isometric control).
    """

    kind: str = "rolled"
    d_u: int = 2
    d_x: int = 32
    n: int = 8192
    radius: float = 1.0
    sources: str = "uniform"
    noise: float = 0.0
    image_size: int = 16
    square_size: float = 4.0
    mlp_slope: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        c = "DataConfig"
        _require(self.kind in DATA_KINDS, c, "kind", f"one of {DATA_KINDS}", self.kind)
        _require(self.sources in SOURCES, c, "sources", f"one of {SOURCES}", self.sources)
        _check_int(c, "d_u", self.d_u, 1, 6)
        _check_int(c, "n", self.n, 64, 1_000_000)
        _check_int(c, "seed", self.seed, 0, MAX_SEED)
        _check_real(c, "noise", self.noise, 0.0, 10.0)
        _check_real(c, "mlp_slope", self.mlp_slope, 0.0, 1.0, lo_open=True)
        if self.kind == "square":
            _require(self.d_u == 2, c, "d_u", "2 for kind='square' (x and y position)", self.d_u)
            _check_int(c, "image_size", self.image_size, 8, 64)
            _check_real(c, "square_size", self.square_size, 1.0, self.image_size / 2)
        else:
            _check_int(c, "d_x", self.d_x, 1, 4096)
            need = 2 * self.d_u if self.kind == "rolled" else self.d_u
            _require(self.d_x >= need, c, "d_x",
                     f">= {need} to embed d_u={self.d_u} factors for kind='{self.kind}'", self.d_x)
        if self.kind == "rolled":
            # The roll u -> (r sin(u/r), r(1 - cos(u/r))) is injective for |u| < pi r; keep a
            # margin so that uniform sources (|u| <= sqrt 3) fit.
            min_r = UNIFORM_HALF_WIDTH / (0.95 * math.pi)
            _check_real(c, "radius", self.radius, round(min_r + 0.005, 2), 1000.0)

    @property
    def obs_dim(self) -> int:
        """Dimension of an observation ``x``."""
        return self.image_size**2 if self.kind == "square" else self.d_x


@dataclass(frozen=True)
class ModelConfig:
    """Autoencoder architecture: MLP d_x -> w -> w -> d_z -> w -> w -> d_x.

    ``d_z`` 0 means "the same as d_u". ``weight_decay`` applies to the ``free`` decoder only
    (orthonormal weights have a fixed norm).
    """

    width: int = 32
    d_z: int = 0
    decoder: str = "orthogonal"
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        c = "ModelConfig"
        _check_int(c, "width", self.width, 1, 4096)
        _check_int(c, "d_z", self.d_z, 0, 64)
        _require(self.decoder in DECODERS, c, "decoder", f"one of {DECODERS}", self.decoder)
        _check_real(c, "weight_decay", self.weight_decay, 0.0, 1.0)

    def latent_dim(self, data: DataConfig) -> int:
        return self.d_z or data.d_u


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation: MSE loss, Adam, mini-batches sliced from in-memory tensors."""

    epochs: int = 30
    batch_size: int = 256
    lr: float = 3e-3
    holdout: float = 0.2

    def __post_init__(self) -> None:
        c = "TrainConfig"
        _check_int(c, "epochs", self.epochs, 1, 10_000)
        _check_int(c, "batch_size", self.batch_size, 1, 1_000_000)
        _check_real(c, "lr", self.lr, 0.0, 1.0, lo_open=True)
        _check_real(c, "holdout", self.holdout, 0.05, 0.9)


@dataclass(frozen=True)
class SweepConfig:
    """A leak x seed grid of autoencoders trained on one data set.

    Model ``m`` has leak ``leaks[m // seeds]`` and seed ``seed * 1000 + m % seeds``, so the
    same seed index shares its initialisation and batch order across leaks.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    leaks: tuple[float, ...] = DEFAULT_LEAKS
    seeds: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        c = "SweepConfig"
        object.__setattr__(self, "leaks", tuple(float(a) for a in self.leaks))
        _require(len(self.leaks) >= 1, c, "leaks", "a non-empty list", self.leaks)
        for a in self.leaks:
            _check_real(c, "leaks", a, 0.0, 1.0)
        _require(len(set(self.leaks)) == len(self.leaks), c, "leaks", "without repeats",
                 self.leaks)
        _check_int(c, "seeds", self.seeds, 1, 64)
        _check_int(c, "seed", self.seed, 0, MAX_SEED)
        check_model_fits_data(self.model, self.data)
        n_train = self.data.n - round(self.data.n * self.train.holdout)
        _require(self.train.batch_size <= n_train, "TrainConfig", "batch_size",
                 f"<= the {n_train} training samples", self.train.batch_size)

    @property
    def n_models(self) -> int:
        return len(self.leaks) * self.seeds

    def grid(self) -> list[tuple[float, int]]:
        """(leak, model seed) for each model, leak-major."""
        return [(a, self.seed * 1000 + s) for a in self.leaks for s in range(self.seeds)]


def check_model_fits_data(model: ModelConfig, data: DataConfig) -> None:
    """Raise ValueError when the architecture cannot be built for this data."""
    d_z, d_x = model.latent_dim(data), data.obs_dim
    if model.decoder == "orthogonal" and not d_z <= model.width <= d_x:
        raise ValueError(
            "ModelConfig.width must satisfy d_z <= width <= d_x for the orthogonal decoder "
            f"(its widths cannot shrink from latent to data): got d_z={d_z}, "
            f"width={model.width}, d_x={d_x}")
    _require(d_z <= d_x, "ModelConfig", "d_z", f"<= d_x={d_x}", d_z)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain JSON-able dict of a (nested) config."""
    d = dataclasses.asdict(cfg)
    return json.loads(json.dumps(d))


def config_id(cfg: Any) -> str:
    """Stable id: sha256 of the canonical JSON of the config (first 16 hex digits)."""
    text = json.dumps(to_dict(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sweep_from_dict(d: dict[str, Any]) -> SweepConfig:
    """Rebuild a SweepConfig from ``to_dict`` output (unknown keys are an error)."""
    return SweepConfig(
        data=DataConfig(**d.get("data", {})),
        model=ModelConfig(**d.get("model", {})),
        train=TrainConfig(**d.get("train", {})),
        leaks=tuple(d.get("leaks", DEFAULT_LEAKS)),
        seeds=d.get("seeds", 4),
        seed=d.get("seed", 0),
    )


def json_safe(value: Any) -> Any:
    """Plain JSON types: NaN/inf -> None, numpy scalars and arrays -> Python, keys -> str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
