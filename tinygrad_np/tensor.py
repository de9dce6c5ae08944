"""`Tensor`: an ndarray plus the autograd bookkeeping (requires_grad, grad, grad_fn).

Every differentiable method is a thin call of one `Function` from `tinygrad_np.ops`; the engine is
in `function.py` (recording) and `autograd.py` (the backward walk).
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np

_ndarray = np.ndarray
_new = object.__new__
MinMax = namedtuple("MinMax", ["values", "indices"])
DTypeLike = Any


def as_array(data: Any, dtype: DTypeLike = None, op: str = "tensor") -> np.ndarray:
    """The dtype policy of every Tensor constructor.

    ndarrays (and NumPy scalars, as 0-d arrays) keep their dtype; Python floats and lists become
    float32 (PyTorch's default); Python ints int64; bools bool. float16, complex and object data are
    refused: the engine computes in float32/float64 only.
    """
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, (_ndarray, np.generic)):
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"{op}: cannot make a tensor from {type(data).__name__}: {e}") from None
        if dtype is None:                # with a dtype, convert once below (no float32 round trip)
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            elif arr.dtype.kind in "iu":
                arr = arr.astype(np.int64, copy=False)
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt != arr.dtype:
            arr = arr.astype(dt)
    if arr.dtype == np.float16:
        raise TypeError(f"{op}: float16 is not supported; use float32 or float64")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{op}: unsupported dtype {arr.dtype}; tensors hold float, integer or bool data")
    return arr


def _check_grad_dtype(arr: np.ndarray, op: str = "tensor") -> None:
    if arr.dtype.kind != "f":
        raise TypeError(f"{op}: only floating-point tensors can require grad, got dtype {arr.dtype}")


class Tensor:
    """An n-dimensional array that records the operations applied to it for reverse-mode autodiff."""

    __slots__ = ("data", "_requires_grad", "grad", "grad_fn", "_out_index", "__weakref__")
    __array_ufunc__ = None   # make `ndarray + Tensor` call Tensor.__radd__ instead of converting the Tensor
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike = None) -> None:
        arr = as_array(data, dtype)
        if requires_grad:
            _check_grad_dtype(arr)
        self.data: np.ndarray = arr
        self._requires_grad = bool(requires_grad)
        self.grad: Optional[Tensor] = None
        self.grad_fn = None
        self._out_index = 0

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool, grad_fn: Any) -> "Tensor":
        """Internal fast constructor: wraps an ndarray that already obeys the dtype policy."""
        t = _new(Tensor)
        t.data = data
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._out_index = 0
        return t

    # ---- autograd state ---------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad:
            _check_grad_dtype(self.data, "requires_grad_")
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad_: a non-leaf tensor always requires grad; use .detach()")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if self.grad_fn is None:
            return
        if self.grad_fn._retained is None:
            self.grad_fn._retained = {}
        self.grad_fn._retained[self._out_index] = self

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · gradient into every leaf's `.grad`."""
        if not self._requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn "
                               "(did you compute it under no_grad, or from tensors without requires_grad?)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: gradient can be implied only for a one-element tensor; this one "
                                   f"has shape {self.data.shape}, so pass gradient= of that shape")
            grad = np.ones(self.data.shape, self.data.dtype)
        else:
            grad = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if grad.shape != self.data.shape:
                raise ValueError(f"backward: gradient has shape {grad.shape}, but the tensor has shape "
                                 f"{self.data.shape}")
            grad = grad.astype(self.data.dtype, copy=False)
        run_backward(self, grad, retain_graph)

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._make(self.data, False, None)

    # ---- read-out ---------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def size(self, dim: Optional[int] = None) -> Union[tuple, int]:
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def numpy(self) -> np.ndarray:
        """The underlying ndarray, without a copy."""
        return self.data

    def item(self) -> Union[float, int, bool]:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python scalar, "
                             f"got shape {self.data.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy:                         # np.array(t) asks for a copy; np.asarray(t) shares memory
            return self.data.astype(dtype or self.data.dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- dtype ------------------------------------------------------------------------------------
    def to(self, dtype: DTypeLike) -> "Tensor":
        dt = np.dtype(dtype)
        if dt == self.data.dtype:
            return self
        if dt == np.float16 or dt.kind not in "fiub":
            raise TypeError(f"to: unsupported dtype {dt}")
        return Cast.apply(self, dtype=dt)

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    # ---- arithmetic (NumPy broadcasting; Python scalars never promote) ------------------------------
    def __add__(self, other: Any) -> "Tensor": return Add.apply(self, other)
    def __radd__(self, other: Any) -> "Tensor": return Add.apply(other, self)
    def __sub__(self, other: Any) -> "Tensor": return Sub.apply(self, other)
    def __rsub__(self, other: Any) -> "Tensor": return Sub.apply(other, self)
    def __mul__(self, other: Any) -> "Tensor": return Mul.apply(self, other)
    def __rmul__(self, other: Any) -> "Tensor": return Mul.apply(other, self)
    def __truediv__(self, other: Any) -> "Tensor": return Div.apply(self, other)
    def __rtruediv__(self, other: Any) -> "Tensor": return Div.apply(other, self)
    def __pow__(self, other: Any) -> "Tensor": return Pow.apply(self, other)
    def __rpow__(self, other: Any) -> "Tensor": return Pow.apply(other, self)
    def __matmul__(self, other: Any) -> "Tensor": return MatMul.apply(self, other)
    def __rmatmul__(self, other: Any) -> "Tensor": return MatMul.apply(other, self)
    def __neg__(self) -> "Tensor": return Neg.apply(self)
    def __pos__(self) -> "Tensor": return self
    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__

    # comparisons: bool tensors without grad
    def _cmp(self, other: Any, ufunc: np.ufunc) -> "Tensor":
        o = other.data if isinstance(other, Tensor) else other
        try:
            return Tensor._make(np.asarray(ufunc(self.data, o)), False, None)
        except ValueError:
            raise ValueError(f"{ufunc.__name__}: shapes {self.data.shape} and {np.shape(o)} cannot be "
                             "broadcast together") from None

    def __lt__(self, other: Any) -> "Tensor": return self._cmp(other, np.less)
    def __le__(self, other: Any) -> "Tensor": return self._cmp(other, np.less_equal)
    def __gt__(self, other: Any) -> "Tensor": return self._cmp(other, np.greater)
    def __ge__(self, other: Any) -> "Tensor": return self._cmp(other, np.greater_equal)
    def __eq__(self, other: Any) -> "Tensor": return self._cmp(other, np.equal)  # type: ignore[override]
    def __ne__(self, other: Any) -> "Tensor": return self._cmp(other, np.not_equal)  # type: ignore[override]
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    # ---- unary ------------------------------------------------------------------------------------
    def exp(self) -> "Tensor": return Exp.apply(self)
    def log(self) -> "Tensor": return Log.apply(self)
    def sqrt(self) -> "Tensor": return Sqrt.apply(self)
    def abs(self) -> "Tensor": return Abs.apply(self)
    def tanh(self) -> "Tensor": return Tanh.apply(self)
    def sigmoid(self) -> "Tensor": return Sigmoid.apply(self)
    def relu(self) -> "Tensor": return ReLU.apply(self)
    def leaky_relu(self, negative_slope: float = 0.01) -> "Tensor":
        return LeakyReLU.apply(self, negative_slope=negative_slope)

    def clamp(self, min: Optional[float] = None, max: Optional[float] = None) -> "Tensor":
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return Clamp.apply(self, min=min, max=max)
    clip = clamp

    # ---- reductions -------------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return Mean.apply(self, dim=dim, keepdim=keepdim)

    def var(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> "Tensor":
        return Var.apply(self, dim=dim, keepdim=keepdim, correction=correction)

    def std(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> "Tensor":
        return self.var(dim, keepdim, correction).sqrt()

    def max(self, dim: Optional[int] = None, keepdim: bool = False) -> Any:
        """0-d maximum, or `(values, indices)` along `dim` as in PyTorch."""
        if dim is None:
            return AMax.apply(self, dim=None, keepdim=False)
        return MinMax(*ArgReduce.apply(self, dim=dim, keepdim=keepdim, largest=True))

    def min(self, dim: Optional[int] = None, keepdim: bool = False) -> Any:
        if dim is None:
            return AMin.apply(self, dim=None, keepdim=False)
        return MinMax(*ArgReduce.apply(self, dim=dim, keepdim=keepdim, largest=False))

    def amax(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return AMax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> "Tensor":
        return AMin.apply(self, dim=dim, keepdim=keepdim)

    def argmax(self, dim: Optional[int] = None, keepdim: bool = False) -> "Tensor":
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim: Optional[int] = None, keepdim: bool = False) -> "Tensor":
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn: Any, dim: Optional[int], keepdim: bool) -> "Tensor":
        if dim is None:
            return Tensor._make(np.asarray(fn(self.data), dtype=np.int64), False, None)
        return Tensor._make(fn(self.data, axis=dim, keepdims=keepdim).astype(np.int64, copy=False), False, None)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> "Tensor":
        return LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    def softmax(self, dim: int = -1) -> "Tensor":
        return Softmax.apply(self, dim=dim)

    def log_softmax(self, dim: int = -1) -> "Tensor":
        return LogSoftmax.apply(self, dim=dim)

    # ---- movement ---------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Reshape.apply(self, shape=shape)
    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        s = self.data.shape
        if not s:
            return self.reshape(1)
        start, end = start_dim % len(s), end_dim % len(s)
        return self.reshape(s[:start] + (-1,) + s[end + 1:]) if start <= end else self

    def unsqueeze(self, dim: int) -> "Tensor":
        nd = self.data.ndim + 1
        if not -nd <= dim < nd:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of {nd - 1} dimensions")
        s = list(self.data.shape)
        s.insert(dim % nd, 1)
        return self.reshape(tuple(s))

    def squeeze(self, dim: Optional[int] = None) -> "Tensor":
        s = self.data.shape
        if dim is None:
            return self.reshape(tuple(n for n in s if n != 1))
        if not -max(len(s), 1) <= dim < max(len(s), 1):      # a 0-d tensor accepts 0 and -1 (PyTorch)
            raise IndexError(f"squeeze: dim {dim} is out of range for a tensor of {len(s)} dimensions")
        if not s or s[dim] != 1:
            return self
        return self.reshape(s[:dim % len(s)] + s[dim % len(s) + 1:])

    def permute(self, *dims: Any) -> "Tensor":
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return Permute.apply(self, dims=dims)

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        nd = self.data.ndim
        for d in (dim0, dim1):
            if not -nd <= d < nd:
                raise IndexError(f"transpose: dim {d} is out of range for a tensor of {nd} dimensions")
        dims = list(range(nd))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return Permute.apply(self, dims=tuple(dims))

    @property
    def T(self) -> "Tensor":
        return Permute.apply(self, dims=tuple(range(self.data.ndim - 1, -1, -1)))

    def expand(self, *shape: Any) -> "Tensor":
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Expand.apply(self, shape=shape)

    def __getitem__(self, index: Any) -> "Tensor":
        return GetItem.apply(self, index=_plain_index(index))


def _plain_index(index: Any) -> Any:
    """Turn Tensors inside an index into ndarrays (integer-array indexing)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def tensor(data: Any, requires_grad: bool = False, dtype: DTypeLike = None) -> Tensor:
    """Make a new Tensor (a copy when `data` is a Tensor or ndarray, like torch.tensor)."""
    arr = as_array(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data.data):
        arr = arr.copy()
    if requires_grad:
        _check_grad_dtype(arr, "tensor")
    return Tensor._make(arr, bool(requires_grad), None)   # the dtype policy already ran in as_array


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return Cat.apply(*tensors, dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dimension."""
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    return Stack.apply(*tensors, dim=dim)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise `x if condition else y`; x and y may be Tensors, arrays or Python scalars."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool, got dtype {cond.dtype}")
    return Where.apply(cond, x, y)


# The ops import Function, which imports this module: bind them last (module globals are looked up at call time).
from .ops.binary import Add, Sub, Mul, Div, Pow, MatMul  # noqa: E402
from .ops.unary import Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, ReLU, LeakyReLU, Clamp, Cast  # noqa: E402
from .ops.reduce import Sum, Mean, Var, AMax, AMin, ArgReduce, LogSumExp, Softmax, LogSoftmax  # noqa: E402
from .ops.movement import Reshape, Permute, Expand, GetItem, Cat, Stack, Where  # noqa: E402
from .autograd import run_backward  # noqa: E402
