"""tg.compile's rewrites (compiler/fusion.py) give eager's numbers bit for bit.

max_pool(relu(x)) is compiled as relu(max_pool(x)), with the ReLU's mask applied to the pooled gradient.
The cases that could break it are ties in a window (the winner before and after the ReLU), windows whose
maximum is ≤ 0 (the sign of the zero gradients), NaN in a window (eager's pool then picks the window's
last element, whose ReLU mask may be 0) and inf/NaN upstream gradients (inf · 0). Gradients are compared
as bits (signed zeros included) and NaN where NaN; parameters after several steps with np.array_equal.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn, optim
import tinygrad_np.nn.functional as F

MOVED = "moved after the pool"


def same_bits(a, b):
    """Equal arrays, bit for bit: the same NaN positions, and equal bits (so the sign of a zero) elsewhere."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    nan = np.isnan(a)
    assert np.array_equal(nan, np.isnan(b)), "NaN at different positions"
    bits = a.view(np.uint32 if a.dtype == np.float32 else np.uint64)
    other = b.view(bits.dtype)
    bad = (bits != other) & ~nan
    assert not bad.any(), f"{bad.sum()} elements differ, e.g. {a[bad][:4]} vs {b[bad][:4]}"


def pool_step(w, kernel):
    def step(x):
        loss = (F.max_pool2d(F.relu(x), kernel) * w).sum()
        loss.backward()
        return loss
    return step


def grads_both(x_np, w_np, kernel, calls=3):
    """x.grad of the eager and the compiled step (the same function), after `calls` calls each."""
    w = tg.tensor(w_np)
    step = pool_step(w, kernel)
    compiled = tg.compile(pool_step(w, kernel))
    out = []
    for fn in (step, compiled):
        for _ in range(calls):
            x = tg.tensor(x_np, requires_grad=True)
            loss = fn(x)
        out.append((loss.numpy(), x.grad.numpy()))
    assert MOVED in compiled.source()
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), kernel=st.sampled_from([2, 3, (2, 3), 1]), h=st.integers(3, 7),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_ties_and_nonpositive_windows_give_eager_gradient_bit_for_bit(seed, kernel, h, dtype):
    rng = np.random.default_rng(seed)
    # values from {-1, -0.0, 0, 1}: ties everywhere, windows whose max is 0, −0.0 or −1
    x = rng.choice(np.array([-1.0, -0.0, 0.0, 1.0]), size=(2, 3, h, h + 1)).astype(dtype)
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    out_shape = (2, 3, h // k[0], (h + 1) // k[1])
    w = rng.choice(np.array([-2.0, -0.5, 0.5, 3.0]), size=out_shape).astype(dtype)   # negative G: −0.0 grads
    (le, ge), (lc, gc) = grads_both(x, w, kernel)
    same_bits(le, lc)
    same_bits(ge, gc)


def test_nan_in_a_window_sends_the_gradient_where_eager_does():
    # each 2x2 window holds one NaN and values whose last element is ≤ 0 or > 0: the pool picks the NaN
    # (PyTorch's rule: a window's last NaN), whose ReLU mask is 1 (NaN passes ReLU)
    x = np.array([[[[np.nan, 5.0, np.nan, 5.0, 1.0, 2.0],
                    [3.0, -1.0, 3.0, 2.0, np.nan, 0.0]]]], np.float32)
    w = np.array([[[[1.5, -2.0, 4.0]]]], np.float32)
    (le, ge), (lc, gc) = grads_both(x, w, 2)
    assert np.isnan(le) and np.isnan(lc)
    same_bits(ge, gc)
    expected = np.zeros_like(x)                                   # what torch gives (checked by hand)
    expected[0, 0, 0, 0], expected[0, 0, 0, 2], expected[0, 0, 1, 4] = 1.5, -2.0, 4.0
    np.testing.assert_array_equal(ge, expected)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")      # inf · 0, on both paths
@pytest.mark.parametrize("upstream", [np.inf, -np.inf, np.nan])
def test_inf_and_nan_upstream_gradients_give_eager_gradient(upstream):
    rng = np.random.default_rng(0)
    x = rng.choice(np.array([-1.0, 0.0, 2.0]), size=(2, 2, 4, 4)).astype(np.float32)
    w = rng.standard_normal((2, 2, 2, 2)).astype(np.float32)
    w[0, 0, 0] = upstream                                   # hits windows with max > 0 and ≤ 0 alike
    w[1, 1] = upstream
    (_, ge), (_, gc) = grads_both(x, w, 2)
    same_bits(ge, gc)


def cnn(seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 2), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 2 * 2, 1))


@pytest.mark.parametrize("quantize", [False, True])
def test_a_cnn_trained_compiled_equals_eager_after_several_steps(quantize):
    a, b = cnn(5), cnn(5)
    if quantize:            # weights of a few values and integer inputs: ties within the pool windows
        for m in (a, b):
            for p in m.parameters():
                p.data = tg.tensor(np.round(p.numpy() * 4) / 4)
    steps = []
    for m in (a, b):
        opt = optim.SGD(m.parameters(), lr=0.05, momentum=0.9)

        def step(x, y, m=m, opt=opt):
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(m(x), y)
            loss.backward()
            opt.step()
            return loss
        steps.append(step)
    compiled = tg.compile(steps[1])
    rng = np.random.default_rng(3)
    for _ in range(6):
        xs = rng.standard_normal((4, 2, 13, 13))
        x = tg.tensor((np.round(xs) if quantize else xs).astype(np.float32))
        y = tg.tensor(rng.integers(0, 2, (4, 1)).astype(np.float32))
        assert steps[0](x, y).item() == compiled(x, y).item()
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        same_bits(p.numpy(), q.numpy())
    assert compiled.source().count(MOVED) == 2 and compiled.traces == 1


def test_not_rewritten_when_the_relu_output_is_read_elsewhere_or_windows_overlap():
    w = tg.tensor(np.linspace(-1, 1, 2 * 2 * 3 * 3).reshape(2, 2, 3, 3).astype(np.float32))

    def reads_relu(x):                                     # the ReLU output also feeds a sum
        r = F.relu(x)
        loss = (F.max_pool2d(r, 2) * w).sum() + r.sum()
        loss.backward()
        return loss

    def overlapping(x):                                    # kernel 3, stride 2: an element in several windows
        loss = (F.max_pool2d(F.relu(x), 3, stride=2, padding=1) * w).sum()
        loss.backward()
        return loss
    rng = np.random.default_rng(1)
    x_np = rng.choice(np.array([-1.0, 0.0, 1.0]), size=(2, 2, 6, 6)).astype(np.float32)
    for fn in (reads_relu, overlapping):
        compiled = tg.compile(fn)
        grads = []
        for f in (fn, compiled, compiled):
            x = tg.tensor(x_np, requires_grad=True)
            f(x)
            grads.append(x.grad.numpy())
        same_bits(grads[0], grads[2])
        assert MOVED not in compiled.source()
