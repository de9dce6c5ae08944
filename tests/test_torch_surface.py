"""PyTorch's everyday surface: devices, module-level functions, factories, Size, grad_fn.next_functions,
view_as, __index__, PyTorch-style custom Functions, adaptive pools, Adagrad/Adadelta, DataLoader's arguments."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from tinygrad_np.ops.tensor_function import TensorFunction
from tinygrad_np.testing import arrays, distinct_arrays, gradient_test

from test_optim import assert_steps_equal_torch, gradient_sequence


# ---- devices ---------------------------------------------------------------------------------------------
def test_cpu_device_everywhere_and_other_devices_raise_clearly():
    t = tg.ones(2, device="cpu")
    assert t.device == tg.device("cpu") == "cpu" and str(t.device) == "cpu" and not t.is_cuda
    assert t.to("cpu") is t and t.cpu() is t and t.to(tg.device("cpu"), tg.float64).dtype == np.float64
    assert not tg.cuda.is_available() and tg.cuda.device_count() == 0 and not tg.backends.mps.is_available()
    assert tg.accelerator.current_accelerator() is None
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.to(tg.device("cpu")) is model and model.cpu() is model
    for call in (lambda: tg.zeros(2, device="cuda"), lambda: t.to("cuda:0"), lambda: t.cuda(),
                 lambda: model.to("mps"), lambda: tg.device("cuda"), lambda: tg.set_default_device("cuda"),
                 lambda: tg.cuda.get_device_name()):
        with pytest.raises(RuntimeError, match="CPU with NumPy"):
            call()
    for factory in (tg.zeros, tg.ones, tg.randn, tg.rand, tg.empty):
        assert factory(2, 3, device="cpu").shape == (2, 3)


# ---- module-level functions ------------------------------------------------------------------------------
def test_module_functions_are_the_methods():
    x = tg.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], requires_grad=True)
    values, indices = tg.max(x, 1)
    assert values.tolist() == [3.0, 4.0] and indices.tolist() == [2, 1]
    assert tg.max(x).item() == 4.0 and tg.min(x, dim=0).indices.tolist() == [1, 0, 1]
    assert tg.sum(x, 1).tolist() == [2.0, 3.5] and tg.argmax(x, dim=1).tolist() == [2, 1]
    assert tg.flatten(tg.ones(2, 3, 4), 1).shape == (2, 12)
    assert np.allclose(tg.exp(x).numpy(), np.exp(x.numpy())) and tg.sigmoid(x).shape == (2, 3)
    assert tg.maximum(x, tg.zeros(2, 3)).tolist() == [[1.0, 0.0, 3.0], [0.5, 4.0, 0.0]]
    assert tg.max(x, tg.zeros(2, 3)).tolist() == tg.maximum(x, tg.zeros(2, 3)).tolist()
    assert tg.allclose(x, x.numpy()) and tg.equal(x, x) and tg.is_tensor(x) and tg.numel(x) == 6
    assert tg.sum([1.0, 2.0]).item() == 3.0           # a list is made a tensor first
    tg.sum(tg.maximum(x, tg.zeros(2, 3)) * tg.tensor([[1.0, 2.0, 3.0]])).backward()
    assert x.grad.tolist() == [[1.0, 0.0, 3.0], [1.0, 2.0, 0.0]]


test_maximum_grad = gradient_test(lambda x: tg.maximum(x, np.float64(0.5)), lambda a: np.maximum(a, 0.5),
                                  inputs=lambda s: arrays(s, away_from=[0.5]), check_float32=False)
test_minimum_grad = gradient_test(lambda x: tg.minimum(np.full(x.shape, -0.5), x), lambda a: np.minimum(-0.5, a),
                                  inputs=lambda s: arrays(s, away_from=[-0.5]), check_float32=False)


# ---- factories -------------------------------------------------------------------------------------------
def test_factories_match_torch():
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(tg.linspace(-3, 3, 7).numpy(), torch.linspace(-3, 3, 7).numpy(), rtol=1e-6)
    np.testing.assert_allclose(tg.logspace(0, 2, 5).numpy(), torch.logspace(0, 2, 5).numpy(), rtol=1e-6)
    assert tg.linspace(0, 1, 4).dtype == np.float32 and tg.linspace(0, 1, 4, dtype=tg.float64).dtype == np.float64
    assert str(torch.randint(0, 5, (3,)).dtype).endswith(str(tg.randint(0, 5, (3,)).dtype))


def test_from_numpy_shares_memory_and_like_factories():
    a = np.arange(4.0)
    t = tg.from_numpy(a)
    a[0] = 10
    assert t.numpy() is a and t[0].item() == 10.0
    x = tg.ones(2, 3, dtype=tg.float64)
    tg.manual_seed(0)
    r = tg.randn_like(x)
    assert r.shape == (2, 3) and r.dtype == np.float64 and r.numpy().std() > 0
    assert tg.rand_like(x).dtype == np.float64 and tg.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    assert tg.empty_like(x).shape == (2, 3) and sorted(tg.randperm(5).tolist()) == list(range(5))
    with pytest.raises(TypeError, match="from_numpy"):
        tg.from_numpy([1, 2])


# ---- tensors ---------------------------------------------------------------------------------------------
def test_size_next_functions_view_as_and_index():
    x = tg.ones(2, 3, requires_grad=True)
    assert x.size() == (2, 3) and x.shape.numel() == 6 and x.size(1) == 3 and isinstance(x.shape, tuple)
    assert repr(x.shape) == "Size([2, 3])"
    y = (x * 2).sum()
    (mul, _), = y.grad_fn.next_functions
    (acc, _), (const, _) = mul.next_functions
    assert type(mul).__name__ == "Mul" and acc.name() == "AccumulateGrad" and acc.variable is x and const is None
    assert tg.arange(6).view_as(x).shape == (2, 3)
    classes = ("a", "b", "c")
    assert classes[tg.tensor(2)] == "c" and [10, 20][tg.tensor([1])] == 20
    with pytest.raises(TypeError, match="integer tensors"):
        classes[tg.tensor(1.0)]


def test_tensor_style_custom_function_gets_tensors():
    class Clip(TensorFunction):                      # PyTorch's example: a ReLU written with Tensor methods
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    x = tg.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    y = Clip.apply(x)
    (y * tg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert y.tolist() == [0.0, 2.0, 0.0, 4.0] and x.grad.tolist() == [0.0, 2.0, 0.0, 4.0]
    assert type(y.grad_fn).__name__ == "Clip"


# ---- adaptive pools --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, out", [((7, 5), (3, 2)), ((6, 6), 1), ((5, 9), (None, 4)), ((4, 4), 4)])
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adaptive_pools_match_torch(size, out, kind, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0 = (rng.permutation(2 * 3 * size[0] * size[1]).reshape(2, 3, *size) / 7).astype(dtype)  # no ties
    up_shape = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x0), out).shape
    up = rng.standard_normal(tuple(up_shape)).astype(dtype)
    x = tg.tensor(x0, requires_grad=True)
    layer = nn.AdaptiveAvgPool2d(out) if kind == "avg" else nn.AdaptiveMaxPool2d(out)
    y = layer(x)
    y.backward(up)
    tx = torch.tensor(x0, requires_grad=True)
    tlayer = torch.nn.AdaptiveAvgPool2d(out) if kind == "avg" else torch.nn.AdaptiveMaxPool2d(out)
    ty = tlayer(tx)
    ty.backward(torch.tensor(up))
    rtol = 1e-12 if dtype == np.float64 else 1e-6     # the same sums; float32 rounding order may differ
    assert y.dtype == x.grad.dtype == dtype
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=rtol * 1e-3)


test_adaptive_avg_grad = gradient_test(lambda x: nn.functional.adaptive_avg_pool2d(x, (2, 3)), None,
                                       shapes=st.just(((1, 2, 5, 7),)))
test_adaptive_max_grad = gradient_test(lambda x: nn.functional.adaptive_max_pool2d(x, (3, 2)), None,
                                       shapes=st.just(((1, 2, 5, 7),)),
                                       inputs=lambda s: distinct_arrays(s))


# ---- optimizers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, kwargs", [
    (tg.optim.Adagrad, {}), (tg.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                                                "initial_accumulator_value": 0.5}),
    (tg.optim.Adadelta, {}), (tg.optim.Adadelta, {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.2})])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adagrad_and_adadelta_equal_torch(cls, kwargs, dtype):
    p0 = np.random.default_rng(2).standard_normal((3, 4)).astype(dtype)
    assert_steps_equal_torch(cls, kwargs, p0, gradient_sequence(p0.shape, seed=3))


# ---- DataLoader ------------------------------------------------------------------------------------------
def test_dataloader_accepts_pytorch_arguments_and_refuses_samplers():
    ds = tg.data.TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    loader = tg.data.DataLoader(ds, batch_size=2, shuffle=False, num_workers=4, pin_memory=True,
                                persistent_workers=True, worker_init_fn=print, prefetch_factor=2, timeout=0)
    assert [y.tolist() for _, y in loader] == [[0, 1], [2, 3], [4]]
    for bad in ({"sampler": [0, 1]}, {"batch_sampler": [[0]]}, {"generator": object()}):
        with pytest.raises(NotImplementedError, match="not supported"):
            tg.data.DataLoader(ds, **bad)
