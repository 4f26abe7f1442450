"""One definition of every sweep setting: name, type, default, range and help.

The command line (``cli.add_sweep_options``) and the app's forms (``nearid_ui.widgets``,
their URL parameters included) are both built from ``SETTINGS``, so they offer the same
settings with the same limits and the same messages. The limits mirror the validation in
``config.py`` (``__post_init__`` of each config); limits that tie two settings together
(``square_size <= image_size / 2``, ``batch_size <=`` the training samples, the orthogonal
decoder's ``d_z <= width <= d_x``, ``d_x >= 2 d_u`` for rolled data) stay with the config,
which both sides call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nearid_core.config import (
    DATA_KINDS,
    DECODERS,
    DEFAULT_LEAKS,
    MAX_SEED,
    SOURCES,
    UNIFORM_HALF_WIDTH,
    DataConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
)

D, M, T = DataConfig(), ModelConfig(), TrainConfig()
# The config's bound for rolled data: arcs stay injective for |u| <= sqrt 3 (config.py).
MIN_RADIUS = round(UNIFORM_HALF_WIDTH / (0.95 * math.pi) + 0.005, 2)
LEAK_HINT = "wants distinct leaks in [0, 1] separated by commas, like 0,0.5,0.95"


def _range_text(lo: float | None, hi: float | None, lo_open: bool = False) -> str:
    if hi is None:
        return f"> {lo}" if lo_open else f">= {lo}"
    return f"in ({lo}, {hi}]" if lo_open else f"in [{lo}, {hi}]"


@dataclass(frozen=True)
class Setting:
    """One sweep setting.

    Attributes
    ----------
    name : the setting's name in tables and tests (``"data_seed"``, ``"lr"``).
    part : the config it belongs to: ``"data"``, ``"model"``, ``"train"`` or ``"sweep"``.
    field : the field of that config (``"seed"`` for ``data_seed``).
    kind : ``"int"``, ``"real"``, ``"choice"`` or ``"leaks"`` (a comma-separated list).
    default : the config's default; None for ``data_seed`` (= the master seed).
    lo, hi : inclusive limits (``lo`` excluded when ``lo_open``); None = unbounded.
    choices : the values a ``"choice"`` accepts.
    option : the command line's flag; url : the app's widget key and URL parameter.
    label : the app's widget label; help : one sentence for both.
    kinds : data kinds the setting applies to (empty: all).
    """

    name: str
    part: str
    field: str
    kind: str
    default: Any
    option: str
    url: str
    label: str
    help: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple = ()
    kinds: tuple[str, ...] = ()

    @property
    def limits(self) -> str:
        """The range in words, e.g. ``in [1, 6]`` (choices for a choice)."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "leaks":
            return "distinct numbers in [0, 1]"
        return _range_text(self.lo, self.hi, self.lo_open)

    def parse(self, text: str) -> Any:
        """Text (a command-line word or a URL value) to a checked value.

        Raises
        ------
        ValueError
            One line naming the rule and the text, e.g. ``must be in [1, 6] (got 7)``.
        """
        if self.kind == "choice":
            if text not in self.choices:
                raise ValueError(f"must be {self.limits} (got {text[:40]!r})")
            return text
        if self.kind == "leaks":
            return parse_leaks(text)
        if self.kind == "int":
            try:
                value = int(text)
            except ValueError:  # also digit strings too long to convert
                raise ValueError(f"wants a whole number {self.limits} "
                                 f"(got {text[:40]!r})") from None
            return self.check(value, shown=text)
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"wants a number {self.limits} (got {text[:40]!r})") from None
        return self.check(value, shown=text)

    def check(self, value: float, *, shown: str | None = None) -> float:
        """A number (e.g. from a widget) checked against the limits; ValueError if not.

        Notes
        -----
        Checks this setting alone; limits between settings are the config's.
        """
        if self.kind not in ("int", "real"):
            raise TypeError(f"{self.name} is not a number setting")
        shown = str(value)[:40] if shown is None else shown[:40]
        if self.kind == "int":
            if isinstance(value, bool) or not float(value).is_integer():
                raise ValueError(f"wants a whole number {self.limits} (got {shown})")
            value = int(value)
        else:
            value = float(value)
        ok = math.isfinite(value) and (value > self.lo if self.lo_open else value >= self.lo)
        if not ok or (self.hi is not None and value > self.hi):
            what = "be" if self.kind == "int" else "be a finite number"
            raise ValueError(f"must {what} {self.limits} (got {shown})")
        return value

    def accepts(self, text: str) -> bool:
        """Whether ``parse(text)`` succeeds."""
        try:
            self.parse(text)
        except ValueError:
            return False
        return True


def parse_leaks(text: str) -> tuple[float, ...]:
    """Distinct leaks in [0, 1], comma separated; ValueError (one line) otherwise."""
    items = [t.strip() for t in text.split(",")]
    if not text.strip():
        raise ValueError(f"{LEAK_HINT} (got nothing)")
    if not all(items):
        raise ValueError(f"{LEAK_HINT} (got {text[:60]!r}: an empty item)")
    try:
        leaks = tuple(float(t) for t in items)
    except ValueError:
        raise ValueError(f"{LEAK_HINT} (got {text[:60]!r})") from None
    bad = [t for t, a in zip(items, leaks, strict=True) if not 0.0 <= a <= 1.0]  # NaN too
    if bad:
        raise ValueError(f"{LEAK_HINT} ({bad[0][:40]} is outside [0, 1])")
    twice = sorted({a for a in leaks if leaks.count(a) > 1})
    if twice:
        raise ValueError(f"{LEAK_HINT} ({twice[0]:g} is given twice)")
    return leaks


def _s(name, part, kind, default, option, url, label, help, **kw) -> Setting:
    field = kw.pop("field", name)
    return Setting(name, part, field, kind, default, option, url, label, help, **kw)


SETTINGS: tuple[Setting, ...] = (
    # data
    _s("kind", "data", "choice", D.kind, "--kind", "kind", "Data-generating process",
       "rolled = factors rolled onto circular arcs (exactly isometric, curved), linear = "
       "x = Q u, square = images of a white square at position u (nearly isometric), mlp = "
       "a non-isometric control", choices=DATA_KINDS),
    _s("d_u", "data", "int", D.d_u, "--d-u", "d_u", "Factors d_u",
       "number of independent ground-truth factors (2 for square)", lo=1, hi=6),
    _s("d_x", "data", "int", D.d_x, "--d-x", "d_x", "Observation dim d_x",
       "observation dimension (rolled needs d_x >= 2 d_u; square uses image size squared)",
       lo=1, hi=4096, kinds=("rolled", "linear", "mlp")),
    _s("n", "data", "int", D.n, "--n", "n", "Samples n",
       "samples drawn, of which the held-out share is kept for every measurement",
       lo=64, hi=1_000_000),
    _s("radius", "data", "real", D.radius, "--radius", "radius", "Arc radius",
       "radius of the arcs of rolled data: smaller = more curved (the roll must stay "
       "injective)", lo=MIN_RADIUS, hi=1000.0, kinds=("rolled",)),
    _s("sources", "data", "choice", D.sources, "--sources", "sources", "Factor law",
       "law of each factor, unit variance; gaussian is the case ICA cannot resolve "
       "(rotation invariant)", choices=SOURCES),
    _s("noise", "data", "real", D.noise, "--noise", "noise", "Noise std",
       "standard deviation of Gaussian noise added to x", lo=0.0, hi=10.0),
    _s("image_size", "data", "int", D.image_size, "--image-size", "image_size",
       "Image size (pixels)", "side of the square images, in pixels (x has image size "
       "squared dimensions)", lo=8, hi=64, kinds=("square",)),
    _s("square_size", "data", "real", D.square_size, "--square-size", "square_size",
       "Square side (pixels)", "side of the white square, in pixels, at most half the "
       "image size", lo=1.0, hi=32.0, kinds=("square",)),
    _s("mlp_slope", "data", "real", D.mlp_slope, "--mlp-slope", "mlp_slope",
       "MLP leaky slope", "negative slope of the mlp generator's own leaky activations",
       lo=0.0, hi=1.0, lo_open=True, kinds=("mlp",)),
    _s("data_seed", "data", "int", None, "--data-seed", "data_seed", "Data seed",
       "seed of the data set (factors, embedding, noise)",
       lo=0, hi=MAX_SEED, field="seed"),
    # model
    _s("width", "model", "int", M.width, "--width", "width", "Hidden width",
       "hidden width w of x -> w -> w -> z -> w -> w -> x; the orthogonal decoder needs "
       "d_z <= w <= d_x", lo=1, hi=4096),
    _s("d_z", "model", "int", M.d_z, "--d-z", "d_z", "Latent dim d_z (0 = d_u)",
       "latent dimension; 0 = the same as d_u", lo=0, hi=64),
    _s("decoder", "model", "choice", M.decoder, "--decoder", "decoder", "Decoder",
       "orthogonal = weights with orthonormal columns, so the leak bounds B(z) <= "
       "(1-leak)^-2; free = ordinary weights with weight decay", choices=DECODERS),
    _s("weight_decay", "model", "real", M.weight_decay, "--weight-decay", "wd",
       "Weight decay (free decoder)", "weight decay of the free decoder (orthonormal "
       "weights have a fixed norm)", lo=0.0, hi=1.0),
    # training
    _s("epochs", "train", "int", T.epochs, "--epochs", "epochs", "Epochs",
       "passes over the training data", lo=1, hi=10_000),
    _s("batch_size", "train", "int", T.batch_size, "--batch-size", "batch", "Batch size",
       "samples per Adam step, at most the number of training samples",
       lo=1, hi=1_000_000),
    _s("lr", "train", "real", T.lr, "--lr", "lr", "Learning rate", "Adam learning rate",
       lo=0.0, hi=1.0, lo_open=True),
    _s("holdout", "train", "real", T.holdout, "--holdout", "holdout", "Held-out share",
       "share of samples held out for every measurement", lo=0.05, hi=0.9),
    # grid
    _s("leaks", "sweep", "leaks", DEFAULT_LEAKS, "--leaks", "leaklist", "Leaks",
       "distinct leaks alpha in [0, 1]; every hidden activation is LeakyReLU with negative "
       "slope 1 - alpha, so 0 = linear and 1 = ReLU"),
    _s("seeds", "sweep", "int", 4, "--seeds", "seeds", "Seeds per leak",
       "models (seeds) per leak; two or more are needed to compare seeds", lo=1, hi=64),
    _s("seed", "sweep", "int", 0, "--seed", "seed", "Master seed",
       "master seed: the same settings with the same seed give the same numbers",
       lo=0, hi=MAX_SEED),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    """The setting called ``name`` (KeyError if there is none)."""
    return BY_NAME[name]


def applies(s: Setting, kind: str) -> bool:
    """Whether setting ``s`` matters for data of this kind."""
    return not s.kinds or kind in s.kinds


def config_fields(part: str, values: dict[str, Any]) -> dict[str, Any]:
    """Field values of one config part (``"data"``, ``"model"``, ``"train"``, ``"sweep"``)
    from setting values by name: missing settings, and data settings that do not apply to
    the data kind, take their defaults (so that they cannot change the sweep's id)."""
    kind = values.get("kind", D.kind)
    return {s.field: values.get(s.name, s.default) if applies(s, kind) else s.default
            for s in SETTINGS if s.part == part}


def data_config(values: dict[str, Any], *, master_seed: int = 0) -> DataConfig:
    """The DataConfig of setting values; ``data_seed`` None means ``master_seed``."""
    fields = config_fields("data", values)
    if fields["seed"] is None:
        fields["seed"] = master_seed
    return DataConfig(**fields)


def build_config(values: dict[str, Any]) -> SweepConfig:
    """The validated SweepConfig of setting values by name (see ``config_fields``).

    Raises ValueError (one line, from the config) on a bad value or combination.
    """
    sweep = config_fields("sweep", values)
    return SweepConfig(data_config(values, master_seed=sweep["seed"]),
                       ModelConfig(**config_fields("model", values)),
                       TrainConfig(**config_fields("train", values)),
                       leaks=tuple(sweep["leaks"]), seeds=sweep["seeds"], seed=sweep["seed"])
