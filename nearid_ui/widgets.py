"""Widget groups: the forms that return configs (the sweep pickers are in ``picker``).

Every widget here is bound to a URL query parameter (``params``), so a link reproduces the
view; the data knobs are remembered across pages so the Train page trains what the Data
page shows. Each setting's label, limits, default and help come from
``nearid_core.settings``, the definition the command line uses too.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from nearid_core.config import DEFAULT_LEAKS, DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.settings import (
    BY_NAME,
    SETTINGS,
    Setting,
    applies,
    config_fields,
    data_config,
    parse_leaks,
)

from . import texts
from .glossary import see
from .live import ACTIVE  # noqa: F401 - re-exported for pages
from .params import bind, choice, flag, forget, number, number_pair, publish, remembered
from .picker import model_picker, pick_sweep, sweep_label, sweep_parser  # noqa: F401

# How each number is typed in (the limits, defaults and help come from settings.SETTINGS).
LOOKS = {"n": {"step": 1024}, "noise": {"step": 0.01}, "radius": {"step": 0.1},
         "square_size": {"step": 0.5}, "mlp_slope": {"step": 0.05},
         "weight_decay": {"step": 1e-4, "format": "%.0e"}, "lr": {"format": "%.0e"},
         "holdout": {"step": 0.05}}
DATA_ALWAYS = ("kind", "d_u", "sources", "n", "noise", "data_seed")
DATA_NAMES = tuple(s.name for s in SETTINGS if s.part == "data")
# The glossary entries each setting's help links to (a setting missing here links "sweep").
SETTING_TERMS = {
    "kind": ("data-process", "isometry"), "d_u": ("factors",), "d_x": ("data-process",),
    "n": ("held-out",), "radius": ("data-process", "isometry"), "sources": ("gaussian", "ica"),
    "noise": ("data-process",), "image_size": ("data-process",),
    "square_size": ("data-process",), "mlp_slope": ("data-process", "leak"),
    "data_seed": ("seed",), "width": ("autoencoder", "decoder"), "d_z": ("latent",),
    "decoder": ("decoder", "leak-bound"), "weight_decay": ("decoder", "training"),
    "epochs": ("training",), "batch_size": ("training",), "lr": ("training",),
    "holdout": ("held-out",), "leaks": ("leak",), "seeds": ("seed-pair", "seed"),
    "seed": ("seed",),
}


def _help(s: Setting) -> str:
    return (f"{s.help[0].upper()}{s.help[1:]}; {s.limits}."
            + see(*SETTING_TERMS.get(s.name, ("sweep",))))


def _bind(s: Setting) -> str:
    options = list(s.choices) if s.kind == "choice" else None
    return bind(s.url, s.default, s.parse, options=options)


def setting_input(container, name: str, *, label: str | None = None, **kw):
    """A number input for a setting, with the setting's limits, default, help and URL key.

    Notes
    -----
    An open lower limit (``lr``, ``mlp_slope``: > 0) cannot be a widget's limit: the widget
    stops at the limit itself and the config refuses it, with the same message as the
    command line.
    """
    s = BY_NAME[name]
    cast = int if s.kind == "int" else float
    return container.number_input(label or s.label, cast(s.lo), cast(s.hi), key=_bind(s),
                                  help=_help(s), **(LOOKS.get(name, {}) | kw))


def data_widgets() -> DataConfig:
    """The data-generating process and its knobs; raises ValueError on a bad combination."""
    c1, c2, c3 = st.columns(3)
    kind_s = BY_NAME["kind"]
    kind = c1.selectbox(kind_s.label, kind_s.choices, key=_bind(kind_s), help=_help(kind_s))
    setting_input(c2, "d_u")
    src = BY_NAME["sources"]
    c3.selectbox(src.label, src.choices, key=_bind(src), help=_help(src))
    c1, c2, c3 = st.columns(3)
    setting_input(c1, "n")
    setting_input(c2, "noise")
    setting_input(c3, "data_seed", label="Data seed (empty = master seed)",
                  placeholder="the master seed")
    extra = tuple(s.name for s in SETTINGS if s.part == "data" and s.kinds and applies(s, kind))
    for col, name in zip(st.columns(3), extra, strict=False):
        setting_input(col, name)
    shown = DATA_ALWAYS + extra
    for name in DATA_NAMES:
        (publish if name in shown else forget)(BY_NAME[name].url)
    values = {n: st.session_state[BY_NAME[n].url] for n in shown}
    return data_config(values, master_seed=remembered("seed", 0))


# ---------------------------------------------------------------- training knobs

LEAK_MODES = ("paper grid", "single leak", "range of leaks", "list of leaks")
LEAK_KEYS = {"single leak": ("leak",), "range of leaks": ("leaks", "nleaks"),
             "list of leaks": ("leaklist",)}


def _leak_text(text: str) -> str:
    parse_leaks(text)  # ValueError with the command line's message
    return text


def leak_widgets() -> tuple[float, ...]:
    """The leaks: the paper's grid, one leak, an evenly spaced range, or any list.

    The chosen mode's widgets read the link before the other modes' parameters are
    dropped from it, so a link with ``leakmode=single+leak&leak=0.3`` opens at 0.3 (and a
    bad value gets the same warning as any other parameter).
    """
    mode = st.radio("Leaks", LEAK_MODES, horizontal=True,
                    key=bind("leakmode", LEAK_MODES[0], choice(LEAK_MODES)), help=texts.LEAK)
    publish("leakmode")
    for other, keys in LEAK_KEYS.items():
        for k in keys if other != mode else ():
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
    if mode == "list of leaks":
        s = BY_NAME["leaks"]
        text = st.text_input("Leaks α (comma separated)", key=bind(
            s.url, ",".join(f"{a:g}" for a in DEFAULT_LEAKS), _leak_text), help=_help(s))
        publish(s.url)
        return parse_leaks(text)
    st.caption("The paper's grid: α = " + ", ".join(f"{a:g}" for a in DEFAULT_LEAKS))
    return DEFAULT_LEAKS


MODEL_TRAIN = ("seeds", "epochs", "width", "decoder", "d_z", "weight_decay", "lr",
               "batch_size", "holdout", "seed")


def train_widgets(data: DataConfig) -> SweepConfig:
    """Leaks, seeds, model and optimisation settings; ValueError on a bad combination.

    When the data seed is left empty, the data take the master seed chosen here (as on the
    command line).
    """
    leaks = leak_widgets()
    c1, c2, c3 = st.columns(3)
    setting_input(c1, "seeds")
    setting_input(c2, "epochs")
    setting_input(c3, "width")
    c1, c2, c3 = st.columns(3)
    dec = BY_NAME["decoder"]
    decoder = c1.radio(dec.label, dec.choices, horizontal=True, key=_bind(dec),
                       help=texts.DECODER)
    setting_input(c2, "d_z")
    setting_input(c3, "weight_decay", disabled=decoder != "free")
    with st.expander("Optimisation and master seed"):
        c1, c2, c3, c4 = st.columns(4)
        for col, name in zip((c1, c2, c3, c4), ("lr", "batch_size", "holdout", "seed"),
                             strict=True):
            setting_input(col, name)
    for name in MODEL_TRAIN:
        publish(BY_NAME[name].url)
    values = {n: st.session_state[BY_NAME[n].url] for n in MODEL_TRAIN}
    if st.session_state.get(BY_NAME["data_seed"].url) is None:
        data = dataclasses.replace(data, seed=values["seed"])
    return SweepConfig(data=data, model=ModelConfig(**config_fields("model", values)),
                       train=TrainConfig(**config_fields("train", values)),
                       leaks=leaks, seeds=values["seeds"], seed=values["seed"])


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
