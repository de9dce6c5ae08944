"""Type promotion is PyTorch's: tg.result_type and the dtype of every binary op agree with
torch.result_type over all pairs of the dtypes tinygrad_np holds, as dimensioned tensors, 0-d tensors and
Python scalars, in both orders."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_np as tg

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
KINDS = ["dim", "zero", "scalar"]


def _ours(dtype: str, kind: str):
    if kind == "scalar":
        return {"bool": True, "uint8": 3, "int8": 3, "int16": 3, "int32": 3, "int64": 3}.get(dtype, 2.5)
    arr = np.ones((2,) if kind == "dim" else (), dtype)
    return tg.tensor(arr)


def _theirs(torch, value):
    if isinstance(value, tg.Tensor):
        return torch.from_numpy(np.array(value.numpy()))
    return value


CASES = [(a, ka, b, kb) for (a, ka), (b, kb) in itertools.product(itertools.product(DTYPES, KINDS), repeat=2)
         if not (ka == kb == "scalar")]


def test_result_type_matches_torch_over_all_pairs():
    torch = pytest.importorskip("torch")
    wrong = []
    for a, ka, b, kb in CASES:
        x, y = _ours(a, ka), _ours(b, kb)
        want = str(torch.result_type(_theirs(torch, x), _theirs(torch, y))).replace("torch.", "")
        got = str(tg.result_type(x, y))
        if got != want:
            wrong.append((a, ka, b, kb, got, want))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_binary_ops_compute_in_the_result_type(op):
    torch = pytest.importorskip("torch")
    wrong = []
    for a, ka, b, kb in CASES:
        if op == "sub" and "bool" in (a, b):
            continue                       # PyTorch refuses subtraction of bools; NumPy too
        x, y = _ours(a, ka), _ours(b, kb)
        want = str(getattr(torch, op)(_theirs(torch, x), _theirs(torch, y)).dtype).replace("torch.", "")
        got = getattr(x, op)(y) if isinstance(x, tg.Tensor) else getattr(y, "__r" + op + "__")(x)
        if str(got.dtype) != want:
            wrong.append((a, ka, b, kb, str(got.dtype), want))
    assert not wrong, wrong[:10]


def test_true_division_of_integers_gives_float32_like_torch():
    torch = pytest.importorskip("torch")
    for a, ka, b, kb in CASES:
        if "float" in a or "float" in b or "bool" in (a, b):
            continue
        x, y = _ours(a, ka), _ours(b, kb)
        got = x / y if isinstance(x, tg.Tensor) else y.__rtruediv__(x)
        want = torch.true_divide(_theirs(torch, x), _theirs(torch, y)).dtype
        assert str(got.dtype) == str(want).replace("torch.", ""), (a, ka, b, kb)


def test_promotion_rules_without_torch():
    f32, i64 = tg.tensor([1.0, 2.0]), tg.tensor([1, 2])
    assert (f32 + i64).dtype == np.float32                        # NumPy would say float64
    assert (i64 + 2.5).dtype == np.float32                        # a Python float is the default dtype
    assert (f32 * tg.tensor(2.0, dtype=tg.float64)).dtype == np.float32   # 0-d does not promote
    assert (f32 * tg.tensor([2.0, 1.0], dtype=tg.float64)).dtype == np.float64
    assert (tg.tensor([1], dtype=tg.int32) + tg.tensor(5)).dtype == np.int32
    assert (tg.tensor([True]) + 1).dtype == np.int64
    assert (i64 / i64).dtype == np.float32


def test_gradients_come_back_in_each_input_dtype_after_promotion():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    (w * tg.tensor([3, 4])).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 4.0]
