"""One definition of every sweep setting: the command line accepts and refuses exactly what
the configs of ``config.py`` accept and refuse, at every limit.

(The app's widgets and links are held to the same table in tests/app/test_links.py.)
"""

from __future__ import annotations

import dataclasses

import pytest

from nearid_core.__main__ import build_parser
from nearid_core.cli import sweep_config
from nearid_core.config import (
    MAX_SEED,
    DataConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
    config_id,
)
from nearid_core.settings import BY_NAME, SETTINGS, build_config

EXPECTED = {"data": ("kind", "d_u", "d_x", "n", "radius", "sources", "noise", "image_size",
                     "square_size", "mlp_slope", "data_seed"),
            "model": ("width", "d_z", "decoder", "weight_decay"),
            "train": ("epochs", "batch_size", "lr", "holdout"),
            "sweep": ("leaks", "seeds", "seed")}
# Other fields a setting needs to be judged alone (config.py ties some to each other).
CONTEXT = {"d_x": {"kind": "linear", "d_u": 1}, "radius": {"kind": "rolled"},
           "image_size": {"kind": "square"}, "square_size": {"kind": "square",
                                                             "image_size": 64},
           "mlp_slope": {"kind": "mlp"}}
CONFIGS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def test_the_table_holds_every_sweep_setting_once():
    assert {p: tuple(s.name for s in SETTINGS if s.part == p) for p in EXPECTED} == EXPECTED
    assert len({s.option for s in SETTINGS}) == len({s.url for s in SETTINGS}) == len(SETTINGS)


def test_the_defaults_are_the_configs():
    assert build_config({}) == SweepConfig()
    args = build_parser().parse_args(["sweep"])
    assert config_id(sweep_config(args)) == config_id(SweepConfig())
    for part, cls in CONFIGS.items():
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        for s in SETTINGS:
            if s.part == part and s.default is not None:
                assert s.default == fields[s.field], s.name


def _cli_accepts(option: str, text: str) -> bool:
    try:
        build_parser().parse_args(["sweep", option, text])
    except SystemExit as exc:
        assert exc.code == 2
        return False
    return True


def _config_accepts(name: str, value) -> bool:
    """Whether config.py accepts ``value`` for this setting, other fields at defaults."""
    s = BY_NAME[name]
    try:
        if s.part == "sweep":
            SweepConfig(**{s.field: value})
        else:
            CONFIGS[s.part](**(CONTEXT.get(name, {}) | {s.field: value}))
    except ValueError:
        return False
    return True


def _boundaries(s) -> list[tuple[str, object, bool]]:
    """(text, value, accepted) at and one step beyond each limit."""
    if s.kind == "choice":
        return [(c, c, True) for c in s.choices] + [("nope", "nope", False)]
    if s.kind == "leaks":
        return [("0,1", (0.0, 1.0), True), ("-0.01", (-0.01,), False),
                ("1.01", (1.01,), False), ("0.5,0.5", (0.5, 0.5), False)]
    if s.kind == "int":
        return [(str(s.lo), s.lo, True), (str(s.hi), s.hi, True),
                (str(s.lo - 1), s.lo - 1, False), (str(s.hi + 1), s.hi + 1, False)]
    below = s.lo if s.lo_open else s.lo - 0.01
    cases = [(repr(s.hi), s.hi, True), (repr(below), below, False),
             (repr(s.hi + 0.01), s.hi + 0.01, False), ("nan", float("nan"), False)]
    return cases + ([] if s.lo_open else [(repr(float(s.lo)), float(s.lo), True)])


@pytest.mark.parametrize("name", list(BY_NAME))
def test_the_command_line_and_the_config_agree_at_every_limit(name):
    s = BY_NAME[name]
    for text, value, accepted in _boundaries(s):
        assert s.accepts(text) is accepted, text
        assert _cli_accepts(s.option, text) is accepted, text
        assert _config_accepts(name, value) is accepted, (text, value)


def test_known_limits_of_the_paper_conventions():
    # Spot checks against config.py's own numbers, so that a change of either is seen.
    assert (BY_NAME["seeds"].lo, BY_NAME["seeds"].hi) == (1, 64)
    assert (BY_NAME["seed"].hi, BY_NAME["data_seed"].hi) == (MAX_SEED, MAX_SEED)
    assert BY_NAME["lr"].lo_open and BY_NAME["mlp_slope"].lo_open
    assert _config_accepts("radius", BY_NAME["radius"].lo)
    assert not _config_accepts("radius", BY_NAME["radius"].lo - 0.01)


def test_the_new_options_reach_the_config():
    args = build_parser().parse_args(["sweep", "--kind", "square", "--image-size", "24",
                                      "--square-size", "5.5", "--d-x", "7", "--width", "64",
                                      "--seed", "3", "--data-seed", "11"])
    cfg = sweep_config(args)
    assert (cfg.data.image_size, cfg.data.square_size, cfg.data.seed, cfg.seed) == (
        24, 5.5, 11, 3)
    assert cfg.data.d_x == DataConfig().d_x  # not a square setting: it stays the default
    cfg = sweep_config(build_parser().parse_args(["sweep", "--kind", "mlp", "--mlp-slope",
                                                  "0.7", "--seed", "9"]))
    assert cfg.data.mlp_slope == 0.7 and cfg.data.seed == 9  # the data seed follows --seed


def test_a_limit_between_settings_stays_the_configs():
    args = build_parser().parse_args(["sweep", "--kind", "square", "--image-size", "8",
                                      "--square-size", "5"])
    with pytest.raises(Exception, match="square_size must be a finite number >= 1.0 and "
                                        "<= 4.0"):
        sweep_config(args)
