"""Adam for the ensembles, bit for bit ``torch.optim.Adam(foreach=True)``, without its import.

Why not ``torch.optim.Adam`` itself: building any ``torch.optim.Optimizer`` imports
``torch._dynamo`` (about 2 s on these machines), in every worker process of every sweep,
where training the tiny preset's nine models takes about one second. The update below
performs the same ``torch._foreach_*`` calls in the same order as torch's multi-tensor Adam
(no amsgrad, no maximize, not capturable, L2 weight decay added to the gradient), so the
weights are identical; ``tests/core/test_training.py`` checks that against torch's own.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["Adam"]


class Adam:
    """Adam over parameter groups ``{"params": [...], "weight_decay": float}``.

    Parameters
    ----------
    groups : iterable of dict
        Each with ``params`` (tensors that receive ``.grad``) and ``weight_decay`` (L2
        penalty added to the gradient, as ``torch.optim.Adam``'s ``weight_decay``).
    lr : float
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8

    Notes
    -----
    Same update and rounding as ``torch.optim.Adam(groups, lr, betas, eps, foreach=True)``
    on CPU float32 tensors; it keeps no state dict and cannot resume a torch optimiser.
    """

    def __init__(self, groups: Iterable[dict], *, lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.groups = [{"params": list(g["params"]), "weight_decay": float(g["weight_decay"])}
                       for g in groups]
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        self.steps = 0
        for g in self.groups:
            g["exp_avg"] = [torch.zeros_like(p, memory_format=torch.preserve_format)
                            for p in g["params"]]
            g["exp_avg_sq"] = [torch.zeros_like(p, memory_format=torch.preserve_format)
                               for p in g["params"]]

    def zero_grad(self) -> None:
        for g in self.groups:
            for p in g["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        # torch keeps the step count in a float32 tensor and reads it back as a Python float
        step = float(torch.tensor(float(self.steps), dtype=torch.float32).item())
        b1, b2 = self.beta1, self.beta2
        for g in self.groups:
            params = [p for p in g["params"] if p.grad is not None]
            if not params:
                continue
            keep = [i for i, p in enumerate(g["params"]) if p.grad is not None]
            grads = [p.grad for p in params]
            m = [g["exp_avg"][i] for i in keep]
            v = [g["exp_avg_sq"][i] for i in keep]
            if g["weight_decay"] != 0:
                grads = torch._foreach_add(grads, params, alpha=g["weight_decay"])
            torch._foreach_lerp_(m, grads, 1 - b1)
            torch._foreach_mul_(v, b2)
            torch._foreach_addcmul_(v, grads, grads, 1 - b2)
            step_size = [(self.lr / (1 - b1 ** step)) * -1] * len(params)
            bc2_sqrt = [(1 - b2 ** step) ** 0.5] * len(params)
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, bc2_sqrt)
            torch._foreach_add_(denom, self.eps)
            torch._foreach_addcdiv_(params, m, denom, step_size)
