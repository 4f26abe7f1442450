"""Widget groups: the sweep picker and the forms that return configs.

Every widget here is bound to a URL query parameter (``params``), so a link reproduces the
view; the data knobs are remembered across pages so the Train page trains what the Data
page shows.
"""

from __future__ import annotations

import streamlit as st

from nearid_core.config import (
    DATA_KINDS,
    DECODERS,
    DEFAULT_LEAKS,
    SOURCES,
    DataConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
)

from . import texts
from .live import ACTIVE  # noqa: F401 - re-exported for pages
from .params import bind, choice, flag, forget, number, number_pair, publish, remembered
from .picker import model_picker, pick_sweep, sweep_label, sweep_parser  # noqa: F401

D, M, T = DataConfig(), ModelConfig(), TrainConfig()


DATA_KNOBS = {  # key: (default, parser)
    "kind": (D.kind, choice(DATA_KINDS)), "d_u": (D.d_u, number(1, 6, integer=True)),
    "d_x": (D.d_x, number(1, 4096, integer=True)), "n": (D.n, number(64, 1_000_000, integer=True)),
    "radius": (D.radius, number(0.01, 1000)), "sources": (D.sources, choice(SOURCES)),
    "noise": (D.noise, number(0, 10)), "image_size": (D.image_size, number(8, 64, integer=True)),
    "square_size": (D.square_size, number(1, 32)), "mlp_slope": (D.mlp_slope, number(0.01, 1)),
    "data_seed": (D.seed, number(0, 10**9, integer=True)),
}


def _knob(key: str) -> str:
    default, parse = DATA_KNOBS[key]
    return bind(key, default, parse)


def data_widgets() -> DataConfig:
    """The data-generating process and its knobs; raises ValueError on a bad combination."""
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Data-generating process", DATA_KINDS, key=_knob("kind"),
                        help="rolled: factors rolled onto circular arcs (exactly isometric, "
                             "curved); linear: x = Q u; square: images of a white square at "
                             "position u (nearly isometric); mlp: a non-isometric control.")
    c2.number_input("Factors d_u", 1, 6, key=_knob("d_u"),
                    help="Number of independent ground-truth factors (2 for square).")
    c3.selectbox("Factor law", SOURCES, key=_knob("sources"),
                 help="Each factor has unit variance. Gaussian factors are the case ICA "
                      "cannot resolve (rotation invariant).")
    c1, c2, c3 = st.columns(3)
    c1.number_input("Samples n", 64, 1_000_000, step=1024, key=_knob("n"),
                    help="Samples drawn; 20% are held out for every measurement.")
    c2.number_input("Noise std", 0.0, 10.0, step=0.01, key=_knob("noise"),
                    help="Standard deviation of Gaussian noise added to x.")
    c3.number_input("Data seed", 0, 10**9, key=_knob("data_seed"))
    shown = {"kind", "d_u", "sources", "n", "noise", "data_seed"}
    c1, c2, _ = st.columns(3)
    if kind == "square":
        c1.number_input("Image size (pixels)", 8, 64, key=_knob("image_size"))
        c2.number_input("Square side (pixels)", 1.0, 32.0, step=0.5, key=_knob("square_size"))
        shown |= {"image_size", "square_size"}
    else:
        c1.number_input("Observation dim d_x", 1, 4096, key=_knob("d_x"),
                        help="x lives in R^d_x (rolled needs d_x ≥ 2 d_u).")
        shown.add("d_x")
        if kind == "rolled":
            c2.number_input("Arc radius", 0.01, 1000.0, step=0.1, key=_knob("radius"),
                            help="Smaller = more curved; must keep the roll injective.")
            shown.add("radius")
        if kind == "mlp":
            c2.number_input("MLP leaky slope", 0.01, 1.0, step=0.05, key=_knob("mlp_slope"),
                            help="Slope of the generator's own leaky activations.")
            shown.add("mlp_slope")
    for k in DATA_KNOBS:
        if k in shown:
            publish(k)
        else:
            forget(k)
    return data_config({k: st.session_state[k] for k in shown})


def data_config(values: dict | None = None) -> DataConfig:
    """DataConfig from widget values (or the session's remembered ones); ValueError if bad."""
    if values is None:
        values = {k: remembered(k, d) for k, (d, _) in DATA_KNOBS.items()}
        kind = values["kind"]
        drop = {"square": ("d_x", "radius", "mlp_slope"), "rolled": ("image_size",
                "square_size", "mlp_slope"), "mlp": ("image_size", "square_size", "radius")}
        for k in drop.get(kind, ("image_size", "square_size", "radius", "mlp_slope")):
            values.pop(k, None)
    values = dict(values)
    values["seed"] = values.pop("data_seed", D.seed)
    return DataConfig(**values)


# ---------------------------------------------------------------- training knobs

LEAK_MODES = ("paper grid", "single leak", "range of leaks")


def leak_widgets() -> tuple[float, ...]:
    """The leak slider: the paper's grid, one leak, or an evenly spaced range."""
    mode = st.radio("Leaks", LEAK_MODES, horizontal=True,
                    key=bind("leakmode", LEAK_MODES[0], choice(LEAK_MODES)), help=texts.LEAK)
    publish("leakmode")
    for k in ("leak", "leaks", "nleaks"):
        forget(k)
    if mode == "single leak":
        a = st.slider("Leak α", 0.0, 1.0, step=0.05, key=bind("leak", 0.5, number(0, 1)),
                      help=texts.LEAK)
        publish("leak")
        return (round(a, 4),)
    if mode == "range of leaks":
        c1, c2 = st.columns([3, 1])
        lo, hi = c1.slider("Leak range α", 0.0, 1.0, step=0.05,
                           key=bind("leaks", (0.0, 0.95), number_pair(0, 1)), help=texts.LEAK)
        k = c2.number_input("How many leaks", 2, 12, key=bind("nleaks", 6,
                                                             number(2, 12, integer=True)))
        publish("leaks")
        publish("nleaks")
        if hi <= lo:
            raise ValueError("the leak range needs two different ends")
        return tuple(round(lo + (hi - lo) * i / (k - 1), 4) for i in range(k))
    st.caption("The paper's grid: α = " + ", ".join(f"{a:g}" for a in DEFAULT_LEAKS))
    return DEFAULT_LEAKS


def train_widgets(data: DataConfig) -> SweepConfig:
    """Leaks, seeds, epochs, width, decoder and weight decay; ValueError on a bad combination."""
    leaks = leak_widgets()
    c1, c2, c3 = st.columns(3)
    seeds = c1.number_input("Seeds per leak", 1, 16, key=bind("seeds", 4, number(1, 16, integer=True)),
                            help="Models trained per leak. Statistical identifiability compares "
                                 "every pair of seeds, so it needs at least 2.")
    epochs = c2.number_input("Epochs", 1, 500, key=bind("epochs", T.epochs,
                                                        number(1, 500, integer=True)))
    width = c3.number_input("Hidden width", 1, 1024, key=bind("width", M.width,
                                                              number(1, 1024, integer=True)),
                            help="Width w of x → w → w → z → w → w → x.")
    c1, c2, c3 = st.columns(3)
    decoder = c1.radio("Decoder", DECODERS, horizontal=True,
                       key=bind("decoder", M.decoder, choice(DECODERS)), help=texts.DECODER)
    d_z = c2.number_input("Latent dim d_z (0 = d_u)", 0, 64,
                          key=bind("d_z", M.d_z, number(0, 64, integer=True)))
    wd = c3.number_input("Weight decay (free decoder)", 0.0, 1.0, format="%.0e", step=1e-4,
                         key=bind("wd", M.weight_decay, number(0, 1)),
                         disabled=decoder != "free",
                         help="Applies to the free decoder only (orthonormal weights have a "
                              "fixed norm).")
    with st.expander("Optimisation"):
        c1, c2, c3 = st.columns(3)
        lr = c1.number_input("Learning rate", 1e-5, 1.0, format="%.0e",
                             key=bind("lr", T.lr, number(1e-5, 1)))
        batch = c2.number_input("Batch size", 1, 100_000,
                                key=bind("batch", T.batch_size, number(1, 100_000, integer=True)))
        holdout = c3.number_input("Held-out share", 0.05, 0.9, step=0.05,
                                  key=bind("holdout", T.holdout, number(0.05, 0.9)))
    for k in ("seeds", "epochs", "width", "decoder", "d_z", "wd", "lr", "batch", "holdout"):
        publish(k)
    return SweepConfig(data=data, model=ModelConfig(width=int(width), d_z=int(d_z),
                                                    decoder=decoder, weight_decay=float(wd)),
                       train=TrainConfig(epochs=int(epochs), batch_size=int(batch),
                                         lr=float(lr), holdout=float(holdout)),
                       leaks=leaks, seeds=int(seeds))


def toggle(label: str, key: str, default: bool, help: str | None = None) -> bool:
    """A checkbox bound to the URL."""
    v = st.checkbox(label, key=bind(key, default, flag), help=help)
    publish(key)
    return v


def radio(label: str, options, key: str, *, help: str | None = None, format_func=str,
          container=st) -> str:
    """A horizontal radio bound to the URL."""
    v = container.radio(label, options, key=bind(key, options[0], choice(options),
                                                 options=options),
                        horizontal=True, help=help, format_func=format_func)
    publish(key)
    return v
