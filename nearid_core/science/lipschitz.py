"""Per-sample bi-Lipschitz estimates B(z) from decoder (or generator) Jacobians.

At a latent z, with J = dg/dz (d_x x d_z) and singular values s_1 >= ... >= s_d:
``B(z) = max(s_1, 1/s_d)`` (>= 1, = 1 iff J is a local isometry) and the distortion
``s_1/s_d``. Summaries: ``L_max = max B - 1`` and ``L_mean = mean B - 1`` (PAPER.md §3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacfwd, vmap

from nearid_core.science.models import EnsembleAE, leaky

QUANTILES = (0.1, 0.5, 0.9, 0.99)


def bilipschitz_from_singular_values(sv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., d) singular values, descending -> B (...,) and distortion (...,)."""
    s1, sd = sv[..., 0], sv[..., -1]
    with np.errstate(divide="ignore"):
        return np.maximum(s1, 1.0 / sd), s1 / sd


@dataclass(frozen=True)
class BiLipschitz:
    """B(z) at n sample points for each of M maps.

    b, distortion : (M, n); singular_values : (M, n, d).
    """

    b: np.ndarray
    distortion: np.ndarray
    singular_values: np.ndarray

    def summary(self, m: int) -> dict[str, float]:
        """Map m's L_max, L_mean, median/quantiles of B and the median distortion."""
        b = self.b[m]
        out = {"L_max": float(b.max() - 1), "L_mean": float(b.mean() - 1),
               "B_max": float(b.max()), "distortion_median": float(np.median(self.distortion[m]))}
        for q in QUANTILES:
            out[f"B_q{round(q * 100)}"] = float(np.quantile(b, q))
        return out

    def summaries(self) -> list[dict[str, float]]:
        return [self.summary(m) for m in range(self.b.shape[0])]


def _from_jacobians(jac: torch.Tensor) -> BiLipschitz:
    sv = torch.linalg.svdvals(jac.detach().double()).numpy()  # (..., min(d_x, d_z)), descending
    b, dist = bilipschitz_from_singular_values(sv)
    return BiLipschitz(b, dist, sv)


def _apply(w: torch.Tensor, jac: torch.Tensor) -> torch.Tensor:
    """``w @ jac`` for w (M, out, in) and jac (M, n, in, d_z), as one batched product per
    model over all n * d_z columns. (Broadcasting ``w[:, None] @ jac`` copies w once per
    point: (M, n, out, in), 5 GB for 48 models of width 128 at 1,638 points.)"""
    m, n, inner, d_z = jac.shape
    cols = jac.permute(0, 2, 1, 3).reshape(m, inner, n * d_z)  # (M, in, n * d_z)
    return torch.bmm(w, cols).reshape(m, w.shape[1], n, d_z).permute(0, 2, 1, 3)


def decoder_jacobians(model: EnsembleAE, z: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Jacobians of every decoder at its own latents, in closed form.

    Parameters
    ----------
    model : EnsembleAE with M members.
    z : (M, n, d_z) latents (each model's own), or (n, d_z) shared points.

    Returns
    -------
    J : (M, n, d_x, d_z) tensor.

    Notes
    -----
    The decoder is an MLP with a leaky activation between layers, so
    ``J = W_L D_{L-1} W_{L-1} ... D_1 W_1`` with ``D_k = diag(1 where h_k > 0, else slope)``
    (at ``h_k = 0`` the slope, as autograd differentiates ``leaky``). Exact, and the same as
    ``torch.func.jacfwd`` up to float rounding (``tests/core/test_lipschitz.py``); written
    out because forward-mode AD through ``torch.lerp`` imports ``torch._dynamo``, about 2 s in
    every fresh worker process.
    """
    dtype = model.slopes.dtype  # float32 as trained; float64 after model.double()
    zt = torch.as_tensor(np.asarray(z) if not torch.is_tensor(z) else z, dtype=dtype)
    with torch.no_grad():
        ws, bs = model.decoder_params()
        slope = model.slopes.view(-1, 1, 1)  # (M, 1, 1)
        h = zt.expand(len(model.slopes), *zt.shape[-2:])  # (M, n, d_z)
        jac = None
        for k, (w, b) in enumerate(zip(ws, bs, strict=True)):  # w: (M, out, in)
            pre = torch.baddbmm(b.unsqueeze(-2), h, w.mT)  # (M, n, out)
            jac = w.unsqueeze(1).expand(-1, h.shape[1], -1, -1) if jac is None else _apply(w, jac)
            if k < len(ws) - 1:
                gate = torch.where(pre > 0, torch.ones((), dtype=dtype), slope)  # (M, n, out)
                jac = jac * gate.unsqueeze(-1)  # (M, n, out, d_z)
                h = leaky(pre, slope)
        return jac


def decoder_bilipschitz(model: EnsembleAE, z: np.ndarray, *, chunk: int = 4096) -> BiLipschitz:
    """B(z) of each model's decoder at latents z ((M, n, d_z) or (n, d_z))."""
    n = z.shape[-2]
    parts = []
    for i in range(0, n, chunk):
        zc = z[..., i:i + chunk, :]
        parts.append(_from_jacobians(decoder_jacobians(model, zc)))
    return BiLipschitz(*(np.concatenate([getattr(p, f) for p in parts], axis=1)
                         for f in ("b", "distortion", "singular_values")))


def map_bilipschitz(fn: Callable[[torch.Tensor], torch.Tensor], points: np.ndarray) -> BiLipschitz:
    """B at points (n, d) of one differentiable map ``fn`` (single point -> vector).

    Returns a BiLipschitz with M = 1. Used for data generators and known linear maps.
    """
    pts = torch.as_tensor(np.asarray(points), dtype=torch.float64)
    jac = vmap(jacfwd(fn))(pts)  # (n, d_out, d)
    res = _from_jacobians(jac)
    return BiLipschitz(res.b[None], res.distortion[None], res.singular_values[None])


def generator_bilipschitz(generator: Callable[[torch.Tensor], torch.Tensor],
                          u: np.ndarray) -> BiLipschitz:
    """B of a data generator at factors u (n, d_u): the ground truth, 1 for an isometry.

    ``generator`` maps rows independently and takes a batch ``(n, d_u) -> (n, d_x)`` (as
    ``data.Generator`` does). Its Jacobians come from 1 + d_u reverse passes over the batch
    (``batch_jacobian``), equal to ``map_bilipschitz``'s ``vmap(jacfwd)`` up to float
    rounding without importing ``torch.func``'s compiler stack (2 s in a fresh process).

    Notes
    -----
    Estimated at sampled points, not certified over the whole support.
    """
    jac = batch_jacobian(generator, torch.as_tensor(np.asarray(u), dtype=torch.float64))
    res = _from_jacobians(jac)
    return BiLipschitz(res.b[None], res.distortion[None], res.singular_values[None])


def batch_jacobian(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Per-row Jacobians ``(n, d_out, d_in)`` of a row-wise map ``fn`` at ``x`` (n, d_in).

    Reverse mode twice: ``g(v) = vᵀ J`` per row is linear in ``v``, so its gradient with
    respect to ``v`` along each input direction is a column of ``J`` (the "double-vjp"
    forward product): 1 + d_in backward passes, whatever ``d_out``.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)  # (n, d_out)
        v = torch.zeros_like(y, requires_grad=True)
        (g,) = torch.autograd.grad(y, x, v, create_graph=True)  # (n, d_in) = vᵀ J per row
        cols = [torch.autograd.grad(g[:, j].sum(), v, retain_graph=True, allow_unused=True)[0]
                for j in range(x.shape[1])]
    cols = [torch.zeros_like(y) if c is None else c for c in cols]
    return torch.stack(cols, dim=-1).detach()  # (n, d_out, d_in)


def orthogonal_bound(leak: float, n_hidden: int) -> float:
    """Upper bound ``(1 - alpha)^-K`` on B(z) for an orthogonal decoder with K hidden
    activations (inf at alpha = 1: ReLU can switch a direction off)."""
    slope = 1.0 - leak
    return float("inf") if slope <= 0 else slope ** (-n_hidden)
