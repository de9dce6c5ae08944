"""What the tg.compile tests share (test_compile*.py): the optimizers and activations they draw from,
`mlp`, `make_step` (the zero_grad, loss, backward, step closure every compile test traces), seeded
`batches`, `assert_same_params`, and `train_both`, which trains an eager and a compiled twin on the same
batches and asserts equal losses and bit-for-bit equal parameters."""
import numpy as np

import tinygrad_np as tg
from tinygrad_np import nn, optim
import tinygrad_np.nn.functional as F

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd_nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.5, centered=True),
}
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky": nn.LeakyReLU}


def mlp(sizes, act, seed, dtype=np.float32, dropout=0.0, batchnorm=False):
    tg.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(ACTIVATIONS[act]())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers).to(dtype)


def make_step(model, opt, loss_name):
    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y) if loss_name == "ce" else F.mse_loss(out, y) if loss_name == "mse" else \
            F.binary_cross_entropy_with_logits(out, y)
        loss.backward()
        opt.step()
        return loss
    return step


def batches(n, batch, d_in, d_out, loss_name, dtype, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = tg.tensor(rng.standard_normal((batch, d_in)).astype(dtype))
        if loss_name == "ce":
            y = tg.tensor(rng.integers(0, d_out, batch))
        elif loss_name == "bce":
            y = tg.tensor(rng.integers(0, 2, (batch, d_out)).astype(dtype))
        else:
            y = tg.tensor(rng.standard_normal((batch, d_out)).astype(dtype))
        yield x, y


def assert_same_params(a, b, what=""):
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.numpy(), q.numpy()), f"{what} parameter {name} differs: max |Δ| = " \
            f"{np.abs(p.numpy() - q.numpy()).max()}"
    for (name, p), (_, q) in zip(a.named_buffers(), b.named_buffers()):
        assert np.array_equal(p.numpy(), q.numpy()), f"{what} buffer {name} differs"


def train_both(sizes, act, opt_name, loss_name, dtype, steps=12, batch=8, **kw):
    eager_model, comp_model = mlp(sizes, act, 1, dtype, **kw), mlp(sizes, act, 1, dtype, **kw)
    eager_step = make_step(eager_model, OPTIMIZERS[opt_name](eager_model.parameters()), loss_name)
    comp_step = tg.compile(make_step(comp_model, OPTIMIZERS[opt_name](comp_model.parameters()), loss_name))
    data = list(batches(steps, batch, sizes[0], sizes[-1], loss_name, dtype))
    tg.manual_seed(7)
    eager_losses = [eager_step(x, y).item() for x, y in data]
    tg.manual_seed(7)
    comp_losses = [comp_step(x, y).item() for x, y in data]
    assert eager_losses == comp_losses
    assert_same_params(eager_model, comp_model, f"{opt_name}/{loss_name}/{np.dtype(dtype).name}")
    return comp_step
