"""Tensor creation and the dtype policy, read-out methods, factories, comparisons (DESIGN.md, Tensor)."""
import numpy as np
import pytest

import tinygrad_np as tg


# ---- creation and dtype policy ------------------------------------------------------------------------
@pytest.mark.parametrize("data, dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1, 2.5]], np.float32),    # Python floats → float32
    (3, np.int64), ([1, 2], np.int64), (np.int32(3), np.int32),               # ints → int64; NumPy keeps
    (True, np.bool_), ([True, False], np.bool_),
    (np.zeros(2), np.float64), (np.zeros(2, np.float32), np.float32),         # ndarrays keep their dtype
    (np.zeros(2, np.int32), np.int32), (np.float64(2.0), np.float64),         # NumPy scalar = 0-d array
    (np.float32(2.0), np.float32),
])
def test_creation_dtype_policy(data, dtype):
    for make in (tg.Tensor, tg.tensor):
        t = make(data)
        assert t.dtype == np.dtype(dtype) and isinstance(t.dtype, np.dtype)
        np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_numpy_scalar_is_a_0d_array():
    t = tg.tensor(np.float64(2.5))
    assert t.shape == () and t.ndim == 0 and t.numel() == 1 and t.item() == 2.5


def test_explicit_dtype_converts_once():
    assert tg.tensor([0.1], dtype=np.float64).item() == 0.1       # no float32 round trip
    assert tg.tensor([1, 2], dtype="float32").dtype == np.float32
    assert tg.Tensor(np.zeros(2), dtype=np.float32).dtype == np.float32
    assert tg.tensor(np.zeros(2, np.float16), dtype=np.float32).dtype == np.float32   # explicit: allowed


@pytest.mark.parametrize("data", [np.zeros(2, np.float16), np.float16(1.0)])
def test_float16_refused(data):
    with pytest.raises(TypeError, match="float16"):
        tg.tensor(data)
    with pytest.raises(TypeError, match="float16"):
        tg.tensor([1.0], dtype=np.float16)


@pytest.mark.parametrize("data", [np.zeros(2, np.complex128), np.array(["a"]), np.array([object()])])
def test_unsupported_dtypes_refused(data):
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.tensor(data)


def test_int_and_bool_tensors_cannot_require_grad():
    for data in ([1, 2], np.array([1, 2], np.int32), [True]):
        with pytest.raises(TypeError, match="floating-point"):
            tg.tensor(data, requires_grad=True)
    t = tg.tensor([1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad_()
    with pytest.raises(TypeError):
        t.requires_grad = True
    assert not t.requires_grad


def test_tensor_copies_Tensor_shares():
    a = np.array([1.0, 2.0])
    assert not np.shares_memory(tg.tensor(a).numpy(), a)
    shared = tg.Tensor(a)
    assert np.shares_memory(shared.numpy(), a)
    src = tg.tensor([1.0, 2.0], requires_grad=True)
    copy = tg.tensor(src)
    assert not np.shares_memory(copy.numpy(), src.numpy()) and not copy.requires_grad and copy.grad_fn is None


def test_requires_grad_flag_and_leaf_state():
    t = tg.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
    y = t * 2
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)
    u = tg.tensor([1.0]).requires_grad_()
    assert u.requires_grad
    u.requires_grad = False
    assert not u.requires_grad


# ---- read-out -----------------------------------------------------------------------------------------
def test_readout_methods():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tg.Tensor(a)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.size() == (2, 3) and t.size(1) == 3 and t.dtype == np.float32
    assert t.numpy() is a                                         # the ndarray itself, no copy
    assert np.asarray(t) is a
    c = np.array(t)                                               # np.array asks for a copy
    c[0, 0] = 99
    assert a[0, 0] == 0
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert tg.tensor([[2.5]]).item() == 2.5 and isinstance(tg.tensor([[2.5]]).item(), float)
    assert isinstance(tg.tensor(3).item(), int) and float(tg.tensor(1.5)) == 1.5 and int(tg.tensor(7)) == 7
    assert [r.tolist() for r in t] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"item.*\(2, 3\)"):
        t.item()
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0))


def test_numpy_result_reflects_later_in_place_changes_of_data():
    t = tg.tensor([1.0, 2.0])
    arr = t.numpy()
    arr[0] = 5.0
    assert t.tolist() == [5.0, 2.0]


def test_repr_shows_values_dtype_and_grad_fn():
    t = tg.tensor([1.5, -2.0], requires_grad=True)
    r = repr(t)
    assert "1.5" in r and "-2." in r and "dtype=float32" in r and "requires_grad=True" in r
    y = t * 2.0
    assert "grad_fn=<Mul>" in repr(y) and "3." in repr(y)
    assert "grad_fn=<Sum>" in repr(y.sum())
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"
    assert "grad_fn" not in repr(y.detach())


def test_bool_of_one_element_tensor():
    assert bool(tg.tensor([1.0])) and not bool(tg.tensor(0.0))
    with pytest.raises(ValueError):
        bool(tg.tensor([1.0, 2.0]))


# ---- factories ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0)])
def test_zeros_ones_sizes_and_dtypes(name, value):
    fn = getattr(tg, name)
    for t in (fn(2, 3), fn((2, 3)), fn([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float32 and np.all(t.numpy() == value)
    assert fn(4).shape == (4,) and fn().shape == () and fn(0, 2).shape == (0, 2)
    assert fn(2, dtype=np.float64).dtype == np.float64 and fn(2, dtype="int64").dtype == np.int64
    assert fn(2, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match=name):
        fn(-1)
    with pytest.raises(ValueError, match=name):
        fn(2.5)


def test_full_and_likes():
    f = tg.full((2, 2), 1.5)
    assert f.dtype == np.float32 and f.tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert tg.full((3,), 7).dtype == np.int64 and tg.full(3, 2.0).shape == (3,)
    assert tg.full((2,), 1.0, dtype=np.float64).dtype == np.float64
    src = tg.tensor(np.ones((2, 3)))
    for like, v in ((tg.zeros_like, 0), (tg.ones_like, 1)):
        t = like(src)
        assert t.shape == (2, 3) and t.dtype == np.float64 and np.all(t.numpy() == v)
        assert like(np.zeros(2, np.float32)).dtype == np.float32
        assert like(src, dtype=np.float32).dtype == np.float32
        assert like(tg.tensor([1, 2])).dtype == np.int64


def test_arange_dtypes_and_values():
    a = tg.arange(5)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(2, 8, 2).tolist() == [2, 4, 6] and tg.arange(2, 8, 2).dtype == np.int64
    f = tg.arange(0, 1, 0.25)
    assert f.dtype == np.float32 and f.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tg.arange(3.0).dtype == np.float32 and tg.arange(3, dtype=np.float64).dtype == np.float64
    assert tg.arange(5, 0, -2).tolist() == [5, 3, 1]
    with pytest.raises(ValueError, match="arange"):
        tg.arange(0, 5, 0)


def test_eye():
    e = tg.eye(3)
    assert e.dtype == np.float32 and e.tolist() == np.eye(3).tolist()
    assert tg.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]] and tg.eye(2, dtype=np.float64).dtype == np.float64


def test_randn_rand_reproducible_with_manual_seed():
    tg.manual_seed(123)
    a, b = tg.randn(3, 4), tg.rand(5)
    tg.manual_seed(123)
    a2, b2 = tg.randn((3, 4)), tg.rand(5)
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    assert a.dtype == b.dtype == np.float32 and a.shape == (3, 4)
    assert np.all((b.numpy() >= 0) & (b.numpy() < 1))
    tg.manual_seed(124)
    assert not np.array_equal(tg.randn(3, 4).numpy(), a.numpy())
    assert tg.randn(2, dtype=np.float64).dtype == np.float64 and tg.randn(2, requires_grad=True).requires_grad
    tg.manual_seed(0)
    big = tg.randn(20000, dtype=np.float64).numpy()
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1) < 0.05      # 5 sigma margins for n = 20000


def test_manual_seed_drives_the_shared_generator():
    from tinygrad_np.random import default_generator
    tg.manual_seed(7)
    x = default_generator().standard_normal(3)
    tg.manual_seed(7)
    np.testing.assert_array_equal(x, np.random.default_rng(7).standard_normal(3))


# ---- comparisons --------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, ref", [
    (lambda a, b: a < b, np.less), (lambda a, b: a <= b, np.less_equal), (lambda a, b: a > b, np.greater),
    (lambda a, b: a >= b, np.greater_equal), (lambda a, b: a == b, np.equal), (lambda a, b: a != b, np.not_equal),
    (lambda a, b: a.lt(b), np.less), (lambda a, b: a.ge(b), np.greater_equal), (lambda a, b: a.eq(b), np.equal),
], ids=["lt", "le", "gt", "ge", "eq", "ne", "method_lt", "method_ge", "method_eq"])
def test_comparisons_are_bool_without_grad(op, ref, request):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (3, 4)).astype(np.float64)
    b = rng.integers(0, 3, (4,)).astype(np.float64)
    x = tg.tensor(a, requires_grad=True)
    for other, other_np in ((tg.tensor(b), b), (b, b), (1.0, 1.0)):
        out = op(x, other)
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), ref(a, other_np))
    if "method" not in request.node.name:
        np.testing.assert_array_equal(op(1.0, x).numpy(), ref(1.0, a))      # reflected
        np.testing.assert_array_equal(op(b, x).numpy(), ref(b, a))          # ndarray on the left


def test_tensors_stay_hashable():
    t = tg.tensor([1.0])
    assert {t: 1}[t] == 1 and len({t, t}) == 1


def test_factories_name_themselves_in_dtype_errors_and_keep_the_policy():
    for make, name in ((lambda: tg.zeros(2, dtype=np.float16), "zeros"),
                       (lambda: tg.randn(2, dtype=np.float16), "randn"),
                       (lambda: tg.rand(2, dtype=np.int64), "rand"),
                       (lambda: tg.full((2,), 1.0, dtype=np.complex64), "full")):
        with pytest.raises(TypeError, match=name):
            make()
    with pytest.raises(TypeError, match="floating-point"):
        tg.zeros(2, dtype=np.int64, requires_grad=True)
    assert tg.full((2,), 3).dtype == np.int64 and tg.full((2,), 3.0).dtype == np.float32
    assert tg.zeros_like(np.zeros(3, np.float64)).dtype == np.float64
    t = tg.ones(2, 3, requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.dtype == np.float32


def test_default_bias_init_uses_the_weights_fan_in():
    from tinygrad_np import nn
    tg.manual_seed(0)
    conv = nn.Conv2d(4, 64, 3, groups=2)          # fan_in = 4/2 · 3 · 3 = 18
    lin = nn.Linear(50, 400)                       # fan_in = 50
    assert np.abs(conv.bias.numpy()).max() <= 1 / np.sqrt(18) and np.abs(conv.bias.numpy()).max() > 0.8 / np.sqrt(18)
    assert np.abs(lin.bias.numpy()).max() <= 1 / np.sqrt(50) and np.abs(lin.bias.numpy()).max() > 0.9 / np.sqrt(50)


def test_data_is_a_detached_tensor_sharing_memory_as_in_pytorch():
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    d = t.data
    assert isinstance(d, tg.Tensor) and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), t.numpy())
    d.numpy()[0] = 5.0                                  # writes through, as PyTorch's t.data does
    assert t.numpy()[0] == 5.0
    t.data = np.array([7.0, 8.0, 9.0], np.float32)     # the setter swaps the array (shape may change)
    np.testing.assert_array_equal(t.numpy(), [7.0, 8.0, 9.0])
    assert t.requires_grad and t.shape == (3,)
