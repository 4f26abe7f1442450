import numpy as np
import pytest
import torch

from nearid_core.config import DataConfig, ModelConfig
from nearid_core.science.lipschitz import (
    decoder_bilipschitz,
    decoder_jacobians,
    map_bilipschitz,
    orthogonal_bound,
)
from nearid_core.science.models import EnsembleAE, leaky, orthonormalise

DATA = DataConfig(d_u=2, d_x=16, n=256)


def test_leak_convention_slope_is_one_minus_alpha():
    h = torch.tensor([-2.0, -0.5, 0.0, 1.5])
    for alpha in (0.0, 0.3, 1.0):
        expected = torch.nn.functional.leaky_relu(h, negative_slope=1 - alpha)
        torch.testing.assert_close(leaky(h, torch.tensor(1 - alpha)), expected)


def test_orthonormalise_gives_orthonormal_columns():
    q = orthonormalise(torch.randn(5, 7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    eye = torch.eye(3, dtype=torch.float64).expand(5, 3, 3)
    torch.testing.assert_close(q.mT @ q, eye)


@pytest.mark.parametrize("leak", [0.0, 0.3, 0.7, 0.95])
def test_orthogonal_decoder_respects_the_leak_bound(leak):
    model = EnsembleAE(ModelConfig(width=8), DATA, [leak] * 3, [0, 1, 2])
    z = torch.randn(400, 2, generator=torch.Generator().manual_seed(1)) * 3
    bl = decoder_bilipschitz(model, z.numpy())
    k = model.n_hidden_decoder
    assert k == 2
    # float32 weights: singular values are exact up to ~1e-6.
    tol = 1e-5
    assert bl.singular_values.max() <= 1 + tol
    assert bl.singular_values.min() >= (1 - leak) ** k - tol
    assert bl.b.max() <= orthogonal_bound(leak, k) + tol
    if leak == 0.0:
        np.testing.assert_allclose(bl.b, 1.0, atol=tol)
    else:  # the bound is not vacuous: random biases put some points on the negative side
        assert bl.b.max() > 1 + 0.5 * (orthogonal_bound(leak, k) - 1) * 0.1


def test_b_of_a_known_linear_map():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3))
    s = np.linalg.svd(a, compute_uv=False)
    bl = map_bilipschitz(lambda z: torch.from_numpy(a) @ z, rng.standard_normal((10, 3)))
    np.testing.assert_allclose(bl.b, max(s[0], 1 / s[-1]), rtol=1e-12)
    np.testing.assert_allclose(bl.distortion, s[0] / s[-1], rtol=1e-12)
    # A shrinking map is penalised through 1/s_d.
    half = map_bilipschitz(lambda z: 0.5 * z, np.ones((2, 3)))
    np.testing.assert_allclose(half.b, 2.0)


def test_decoder_jacobian_matches_finite_differences():
    model = EnsembleAE(ModelConfig(width=8, decoder="free"), DATA, [0.4, 0.9], [3, 4]).double()
    z = torch.randn(2, 5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    jac = decoder_jacobians(model, z)  # (2, 5, 16, 2)
    eps = 1e-7
    with torch.no_grad():
        for j in range(2):
            dz = torch.zeros(2, dtype=torch.float64)
            dz[j] = eps
            fd = (model.decode(z + dz) - model.decode(z - dz)) / (2 * eps)
            # Central differences of a piecewise-linear map are exact unless a kink lies
            # within 1e-7 of a point (a seeded draw where none does); float64 rounding of
            # the difference quotient is ~1e-9.
            torch.testing.assert_close(jac[..., j], fd, atol=1e-7, rtol=1e-6)


def test_same_seed_same_init_regardless_of_ensemble():
    alone = EnsembleAE(ModelConfig(), DataConfig(), [0.5], [7])
    many = EnsembleAE(ModelConfig(), DataConfig(), [0.1, 0.5, 0.9], [5, 7, 7])
    for k, v in alone.member_state(0).items():
        if k != "slopes":
            torch.testing.assert_close(v, many.member_state(1)[k], rtol=0, atol=0)
            torch.testing.assert_close(v, many.member_state(2)[k], rtol=0, atol=0)


@pytest.mark.parametrize("decoder", ["free", "orthogonal"])
def test_closed_form_decoder_jacobian_equals_forward_mode_autodiff(decoder):
    # Independent reference: torch.func.jacfwd through the decoder's own forward pass, per
    # model and per point, for per-model latents (M, n, d_z) and shared points (n, d_z).
    # float64, so agreement to 1e-12 is rounding of a few matrix products.
    model = EnsembleAE(ModelConfig(width=8, decoder=decoder), DATA, [0.0, 0.4, 1.0],
                       [3, 4, 5]).double()
    gen = torch.Generator().manual_seed(1)
    for z in (torch.randn(3, 6, 2, generator=gen, dtype=torch.float64),
              torch.randn(6, 2, generator=gen, dtype=torch.float64)):
        jac = decoder_jacobians(model, z)  # (3, 6, 16, 2)
        assert jac.shape == (3, 6, 16, 2)
        for m in range(3):
            zm = z[m] if z.dim() == 3 else z

            def decode_m(p, m=m):
                return model.decode(p.expand(3, 1, 2))[m, 0]

            ref = torch.stack([torch.func.jacfwd(decode_m)(zm[i][None]) [:, 0, :]
                               for i in range(6)])
            torch.testing.assert_close(jac[m], ref, atol=1e-12, rtol=1e-12)
