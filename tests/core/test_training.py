import numpy as np
import torch
from sklearn.decomposition import PCA

from nearid_core.config import DataConfig, ModelConfig, TrainConfig
from nearid_core.science.data import make_data, orthonormal_columns
from nearid_core.science.training import encode, reconstruction_mse, train_ensemble

DATA = DataConfig(n=1024, d_x=16)
MODEL = ModelConfig(width=16)
TRAIN = TrainConfig(epochs=2, batch_size=128)


def _x():
    ds = make_data(DATA)
    return ds.x[ds.train_idx]


def test_same_seed_gives_identical_weights():
    a = train_ensemble(_x(), MODEL, DATA, TRAIN, [0.5, 0.5], [1, 2])
    b = train_ensemble(_x(), MODEL, DATA, TRAIN, [0.5, 0.5], [1, 2])
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q), name
    assert not torch.equal(a.model.enc_w0[0], a.model.enc_w0[1])  # seeds differ


def test_ensemble_member_equals_model_trained_alone():
    leaks, seeds = [0.0, 0.3, 0.8, 0.95], [10, 11, 10, 11]
    ens = train_ensemble(_x(), MODEL, DATA, TRAIN, leaks, seeds)
    for m in (1, 2):
        alone = train_ensemble(_x(), MODEL, DATA, TRAIN, [leaks[m]], [seeds[m]])
        for k, v in alone.model.member_state(0).items():
            # Same arithmetic, batched differently: float32 rounding only.
            torch.testing.assert_close(ens.model.member_state(m)[k], v, atol=1e-5, rtol=1e-4)
        np.testing.assert_allclose(ens.loss_history[m], alone.loss_history[0], rtol=1e-4)


def test_linear_autoencoder_reaches_pca_reconstruction_error():
    rng = np.random.default_rng(0)
    q = orthonormal_columns(rng, 16, 4)
    u = rng.uniform(-1.7, 1.7, (3000, 4)) * np.array([2.0, 1.5, 0.6, 0.3])  # distinct variances
    x = u @ q.T
    x_train, x_test = x[:2400], x[2400:]
    data = DataConfig(kind="linear", d_u=4, d_x=16, n=3000)
    model = ModelConfig(width=16, d_z=2, decoder="free", weight_decay=0.0)
    res = train_ensemble(x_train, model, data, TrainConfig(epochs=60, batch_size=64, lr=3e-3),
                         [0.0], [0])
    pca = PCA(n_components=2).fit(x_train)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2)
    ae_mse = reconstruction_mse(res.model, x_test)[0]
    # The best rank-2 linear reconstruction is PCA's; Adam in float32 gets within 3% of it.
    assert pca_mse * 0.97 < ae_mse < pca_mse * 1.03, (ae_mse, pca_mse)


def test_a_diverging_model_is_marked_failed_and_the_others_go_on():
    def poison(info):
        if info.step == 3:
            with torch.no_grad():
                info.model.enc_w0[1].fill_(float("nan"))

    res = train_ensemble(_x(), MODEL, DATA, TRAIN, [0.2, 0.2, 0.6], [1, 2, 3], on_step=poison)
    assert res.status == ["done", "failed", "done"]
    assert "nan" in res.reasons[1] and "step 4" in res.reasons[1]
    assert np.isfinite(res.loss_history[[0, 2]]).all()
    clean = train_ensemble(_x(), MODEL, DATA, TRAIN, [0.2, 0.6], [1, 3])
    np.testing.assert_allclose(res.loss_history[[0, 2]], clean.loss_history, rtol=1e-5)


def test_on_step_can_stop_training():
    seen = []

    def stop_at_five(info):
        seen.append((info.step, info.total_steps))
        return info.step == 5

    res = train_ensemble(_x(), MODEL, DATA, TRAIN, [0.1, 0.9], [1, 2], on_step=stop_at_five)
    assert res.steps == 5 and seen[-1] == (5, 14)  # 820 samples / 128 -> 7 steps x 2 epochs
    assert res.status == ["cancelled", "cancelled"]


def test_training_reduces_the_loss_and_encodes_every_model():
    res = train_ensemble(_x(), MODEL, DATA, TrainConfig(epochs=5, batch_size=64), [0.5], [0])
    assert res.loss_history[0, -1] < 0.5 * res.loss_history[0, 0]
    z = encode(res.model, make_data(DATA).x_test)
    assert z.shape == (1, 205, 2) and z.dtype == np.float64


def test_nearid_adam_equals_torch_adam_bit_for_bit():
    # nearid_core.science.adam.Adam avoids torch.optim's import of torch._dynamo; it must give the
    # very same float32 weights as torch.optim.Adam(foreach=True), with weight decay on one
    # group only, over many steps (exact equality, not a tolerance).
    from nearid_core.science.adam import Adam

    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(5, 3, generator=gen), torch.randn(3, generator=gen),
            torch.randn(4, 5, generator=gen)]
    data = torch.randn(40, 3, generator=gen)

    def run(make):
        ps = [p.clone().requires_grad_(True) for p in init]
        opt = make([{"params": ps[:2], "weight_decay": 0.0},
                    {"params": ps[2:], "weight_decay": 1e-3}])
        for step in range(60):
            x = data[step % 40]
            loss = (ps[2] @ torch.tanh(ps[0] @ x + ps[0][:, 0] * ps[1].sum())).square().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach() for p in ps]

    ours = run(lambda g: Adam(g, lr=0.01))
    theirs = run(lambda g: torch.optim.Adam(g, lr=0.01, foreach=True))
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)
