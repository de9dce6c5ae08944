"""dtype preservation through every op (float32 stays float32, incl. `t * 2.0`), PyTorch promotion
for mixed float32/float64, and differentiable casts."""
import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, dtype=np.float64):
    return tg.tensor(np.asarray(values, dtype), requires_grad=True)


# ---- dtypes -------------------------------------------------------------------------------------------
F32_OPS = [
    lambda x, y: x * 2.0, lambda x, y: 2.0 * x, lambda x, y: x / 3, lambda x, y: 1 - x, lambda x, y: x ** 2,
    lambda x, y: (x * x + 1.0) ** 0.5, lambda x, y: 2.0 ** x, lambda x, y: x @ y.T,
    lambda x, y: x + y, lambda x, y: (x - y) * (x / (y * y + 1)), lambda x, y: -x,
    lambda x, y: x.exp(), lambda x, y: (x * x + 0.1).log(), lambda x, y: (x * x + 0.1).sqrt(), lambda x, y: x.abs(),
    lambda x, y: x.tanh(), lambda x, y: x.sigmoid(), lambda x, y: x.relu(), lambda x, y: x.leaky_relu(0.2),
    lambda x, y: x.clamp(-0.5, 0.5), lambda x, y: x.clamp(min=0.1), lambda x, y: x.sum(1), lambda x, y: x.mean(),
    lambda x, y: x.var(0), lambda x, y: x.std(), lambda x, y: x.max(), lambda x, y: x.min(1)[0],
    lambda x, y: x.amax((0, 1)), lambda x, y: x.amin(0), lambda x, y: x.softmax(1), lambda x, y: x.log_softmax(0),
    lambda x, y: x.logsumexp(1), lambda x, y: x.reshape(-1), lambda x, y: x.view(4, 3), lambda x, y: x.flatten(),
    lambda x, y: x.transpose(0, 1), lambda x, y: x.permute(1, 0), lambda x, y: x.T, lambda x, y: x.unsqueeze(0),
    lambda x, y: x.unsqueeze(0).squeeze(0), lambda x, y: x[None].expand(2, 3, 4), lambda x, y: x[::-1, 1:],
    lambda x, y: x[np.array([0, 0, 2])], lambda x, y: tg.cat([x, y], 1), lambda x, y: tg.stack([x, y]),
    lambda x, y: tg.where(x > 0, x, 2.0), lambda x, y: tg.where(x > 0, y, x), lambda x, y: x.double().float(),
]


@pytest.mark.parametrize("i", range(len(F32_OPS)))
def test_float32_stays_float32_through_every_op(i):
    rng = np.random.default_rng(i)
    x = leaf(rng.standard_normal((3, 4)), np.float32)
    y = leaf(rng.standard_normal((3, 4)), np.float32)
    out = F32_OPS[i](x, y)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in (x, y):
        assert t.grad is None or t.grad.dtype == np.float32


def test_mixed_float32_float64_follows_pytorch_promotion():
    x32, x64 = leaf([1.0, 2.0], np.float32), leaf([3.0, 4.0], np.float64)
    out = x32 * x64
    assert out.dtype == np.result_type(np.float32, np.float64) == np.float64
    out.sum().backward()
    assert x32.grad.dtype == np.float32 and x64.grad.dtype == np.float64
    assert x32.grad.tolist() == [3.0, 4.0] and x64.grad.tolist() == [1.0, 2.0]
    assert (x32 + np.ones(2)).dtype == np.float64                # float64 ndarray promotes
    assert (x32 + np.float64(1.0)).dtype == np.float32           # a NumPy scalar is 0-d: it does not promote (PyTorch)
    assert (x32 + np.ones(2, np.float32)).dtype == np.float32
    assert (x32 * 2).dtype == (x32 * 2.0).dtype == (x32 / 7).dtype == np.float32   # Python scalars never promote
    assert tg.cat([x32, x64]).dtype == np.float64


def test_casts_are_differentiable_and_return_the_input_dtype():
    x = leaf([1.5, -2.0], np.float32)
    y = x.double()
    assert y.dtype == np.float64 and y.grad_fn is not None
    (y * np.array([2.0, 3.0])).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 3.0]
    z = leaf([0.1], np.float64)
    w = z.float()
    assert w.dtype == np.float32 and w.item() == np.float32(0.1)
    (w * 4.0).sum().backward()
    assert z.grad.dtype == np.float64 and z.grad.tolist() == [4.0]
    assert z.to(np.float64) is z and z.to("float64") is z
    assert z.to("float32").dtype == np.float32
    i = x.to(np.int64)
    assert i.dtype == np.int64 and i.tolist() == [1, -2] and not i.requires_grad and i.grad_fn is None


def test_scalar_base_pow_backward_stays_float32_inside_the_op():
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    y = 2.0 ** x
    g = type(y.grad_fn).backward(y.grad_fn, np.ones(2, np.float32))
    assert g[1].dtype == np.float32
    np.testing.assert_allclose(g[1], 2.0 ** np.array([0.5, 1.5]) * np.log(2.0), rtol=1e-6)
