import pytest

from nearid_core.config import (
    DataConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
    config_id,
    sweep_from_dict,
    to_dict,
)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: DataConfig(d_u=9), "DataConfig.d_u"),
        (lambda: DataConfig(kind="spiral"), "DataConfig.kind"),
        (lambda: DataConfig(sources="cauchy"), "DataConfig.sources"),
        (lambda: DataConfig(radius=0.1), "DataConfig.radius"),
        (lambda: DataConfig(d_u=4, d_x=6), "DataConfig.d_x"),
        (lambda: DataConfig(kind="square", d_u=3), "DataConfig.d_u"),
        (lambda: ModelConfig(decoder="tied"), "ModelConfig.decoder"),
        (lambda: ModelConfig(width=0), "ModelConfig.width"),
        (lambda: TrainConfig(lr=0), "TrainConfig.lr"),
        (lambda: TrainConfig(epochs=1.5), "TrainConfig.epochs"),
        (lambda: SweepConfig(leaks=(0.0, 1.5)), "SweepConfig.leaks"),
        (lambda: SweepConfig(leaks=(0.2, 0.2)), "SweepConfig.leaks"),
        (lambda: SweepConfig(seeds=0), "SweepConfig.seeds"),
        (lambda: SweepConfig(model=ModelConfig(width=64)), "ModelConfig.width"),
        (lambda: SweepConfig(train=TrainConfig(batch_size=10**6)), "TrainConfig.batch_size"),
    ],
)
def test_validation_names_the_field_and_value(build, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")) as err:
        build()
    assert "must be" in str(err.value) or "must satisfy" in str(err.value)


def test_orthogonal_width_message_names_the_rule():
    with pytest.raises(ValueError, match=r"d_z <= width <= d_x.*width=64.*d_x=32"):
        SweepConfig(model=ModelConfig(width=64))
    # The free decoder has no such rule.
    SweepConfig(model=ModelConfig(width=64, decoder="free"))


def test_config_id_is_stable_and_round_trips():
    cfg = SweepConfig(leaks=(0.0, 0.5), seeds=2)
    again = sweep_from_dict(to_dict(cfg))
    assert again == cfg
    assert config_id(again) == config_id(cfg)
    assert config_id(SweepConfig(seeds=3)) != config_id(SweepConfig(seeds=4))


def test_grid_is_leak_major_and_seed_shared_across_leaks():
    cfg = SweepConfig(leaks=(0.0, 0.5), seeds=2, seed=1)
    assert cfg.grid() == [(0.0, 1000), (0.0, 1001), (0.5, 1000), (0.5, 1001)]
