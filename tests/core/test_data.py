import numpy as np
import pytest
import torch

from nearid_core.config import DataConfig
from nearid_core.science.data import Generator, make_data, sample_sources
from nearid_core.science.lipschitz import generator_bilipschitz


@pytest.mark.parametrize("kind", ["rolled", "linear"])
@pytest.mark.parametrize("sources", ["uniform", "laplace", "gaussian"])
def test_isometric_generators_have_unit_singular_values(kind, sources):
    ds = make_data(DataConfig(kind=kind, sources=sources, d_u=3, d_x=16, n=512, radius=0.8))
    bl = generator_bilipschitz(ds.generator, ds.u[:256])
    # float64 Jacobians of an exact isometry: only rounding error remains.
    np.testing.assert_allclose(bl.singular_values, 1.0, atol=1e-5)
    np.testing.assert_allclose(bl.b, 1.0, atol=1e-5)


def test_rolled_observations_match_the_closed_form():
    cfg = DataConfig(d_u=1, d_x=2, n=64, radius=2.0)
    ds = make_data(cfg)
    q = ds.generator.q.numpy()  # (2, 2) orthogonal
    u = ds.u[:, 0]
    arc = np.stack([2 * np.sin(u / 2), 2 * (1 - np.cos(u / 2))], axis=1)
    np.testing.assert_allclose(ds.x, arc @ q.T, atol=1e-12)


def test_square_is_near_isometric_and_mlp_is_not():
    sq = make_data(DataConfig(kind="square", n=512))
    assert sq.x.shape == (512, 256)
    b_sq = generator_bilipschitz(sq.generator, sq.u[:256]).b[0]
    # Pixel-aligned edges give exactly 1; fractional ones lose at most half a pixel row of
    # the 2*side pixels that move, so B stays below sqrt(side / (side - 1)) ~ 1.16.
    assert np.median(b_sq) < 1.16 and b_sq.max() < 1.3
    ml = make_data(DataConfig(kind="mlp", n=512))
    assert np.median(generator_bilipschitz(ml.generator, ml.u[:256]).b) > 1.2


def test_same_seed_same_data_other_seed_other_data():
    a, b = make_data(DataConfig(n=256)), make_data(DataConfig(n=256))
    c = make_data(DataConfig(n=256, seed=1))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.test_idx, b.test_idx)
    assert not np.allclose(a.u, c.u)


def test_split_is_disjoint_and_complete():
    ds = make_data(DataConfig(n=1000), holdout=0.2)
    assert len(ds.test_idx) == 200
    assert sorted(np.concatenate([ds.train_idx, ds.test_idx]).tolist()) == list(range(1000))


def test_sources_have_unit_variance_and_stay_inside_the_roll():
    rng = np.random.default_rng(0)
    for kind in ("uniform", "laplace", "gaussian"):
        u = sample_sources(kind, 200_000, 1, rng=rng)
        # 200k samples: the standard error of the variance is about 0.01 even for Laplace.
        assert abs(u.var() - 1) < 0.03, kind
    ds = make_data(DataConfig(sources="laplace", radius=0.6, n=4096))
    assert np.abs(ds.u).max() <= 0.95 * np.pi * 0.6


def test_noise_changes_x_but_not_u():
    a = make_data(DataConfig(n=256))
    b = make_data(DataConfig(n=256, noise=0.1))
    np.testing.assert_array_equal(a.u, b.u)
    assert 0.08 < np.std(b.x - a.x) < 0.12
    with torch.no_grad():  # the generator gives the clean observations
        np.testing.assert_allclose(a.generator(torch.from_numpy(a.u)).numpy(), a.x)


@pytest.mark.parametrize("kind", ["rolled", "linear", "mlp", "square"])
def test_generator_jacobians_by_double_vjp_equal_torch_func(kind):
    """``generator_bilipschitz`` takes its Jacobians from two reverse passes over the batch
    (no torch.func import); they equal ``vmap(jacfwd)`` of the same generator."""
    from torch.func import jacfwd, vmap

    from nearid_core.science.lipschitz import batch_jacobian, map_bilipschitz

    cfg = DataConfig(kind=kind, d_u=2)
    gen = Generator(cfg)
    u = torch.as_tensor(np.random.default_rng(3).uniform(-1, 1, (64, 2)), dtype=torch.float64)
    np.testing.assert_allclose(batch_jacobian(gen, u).numpy(), vmap(jacfwd(gen))(u).numpy(),
                               rtol=1e-12, atol=1e-14)
    mine, theirs = generator_bilipschitz(gen, u.numpy()), map_bilipschitz(gen, u.numpy())
    np.testing.assert_allclose(mine.b, theirs.b, rtol=1e-12)
