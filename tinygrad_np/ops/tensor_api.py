"""What a Tensor can compute: every differentiable method and operator, each a call of one Function,
plus `tg.cat`, `tg.stack` and `tg.where`.

The methods are written as the body of `_TensorMethods` and attached to `Tensor` by `attach()` when the
ops load (tinygrad_np/ops/__init__.py), so the core (tensor.py) never imports the ops that sit above it.
Binary operators follow NumPy broadcasting; Python scalars never promote a tensor's dtype.
"""
from __future__ import annotations

import math
from collections import namedtuple
from typing import Any, Optional, Sequence

import numpy as np

from ..dtypes import DTypeLike, check_dtype
from ..tensor import Tensor
from .binary import Add, Div, MatMul, Mul, Pow, Sub
from .movement import Cat, Expand, GetItem, Permute, Reshape, Stack, Where
from .reduce import AMax, AMin, ArgReduce, LogSoftmaxOp, LogSumExp, Mean, SoftmaxOp, Sum, Var
from .unary import (Abs, Acos, Asin, Atan, Cast, Clamp, Clone, Cos, Cosh, Exp, Expm1, LeakyReLUOp, Log, Log1p, Log2,
                    Log10, Neg, Piecewise, Reciprocal, ReLUOp, Rsqrt, SigmoidOp, Sin, Sinh, Sqrt, Square, Tan, TanhOp)
from ..device import dtype_of_to_args

MinMax = namedtuple("MinMax", ["values", "indices"])


def _shape_args(args: tuple) -> tuple:
    """`reshape(2, 3)` and `reshape((2, 3))` alike."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _check_not_empty(t: Tensor, op: str) -> None:
    if t._data.size == 0:
        raise RuntimeError(f"{op}: cannot reduce an empty tensor of shape {t._data.shape}; pass dim")


_FLOAT32_MAX = float(np.finfo(np.float32).max)
_OPERANDS = (Tensor, int, float, np.integer, np.floating, np.bool_)    # bool is an int


def _operand(other: Any, op: str, tensor: Optional[Tensor] = None) -> Any:
    """The other operand of a binary operator: a Tensor, an ndarray or a number of a dtype a tensor may
    hold. Anything else (None, a list, a dict, complex) is a TypeError naming the op, as in PyTorch:
    NumPy would make an object array of it, or turn a list of Tensors into constants that get no gradient.
    The operators call it only when `other` is not exactly a Tensor: the common case costs one `type` check."""
    if op == "sub" and (isinstance(other, (bool, np.bool_)) or (tensor is not None and tensor._data.dtype == np.bool_)):
        raise RuntimeError("sub: subtracting a bool is not supported (PyTorch refuses it too); use int")
    kind = type(other)
    if kind is float:                                  # the usual constant (x * 2.0): checked first
        if abs(other) <= _FLOAT32_MAX or other != other or tensor is None or tensor._data.dtype != np.float32:
            return other
        return math.copysign(math.inf, other)          # what float32(1e308) is, without NumPy's warning
    if kind is int or isinstance(other, _OPERANDS) or (isinstance(other, np.ndarray) and other.dtype.kind in "fiub"
                                                       and other.dtype != np.float16):
        return other
    what = f"an ndarray of dtype {other.dtype}" if isinstance(other, np.ndarray) else type(other).__name__
    raise TypeError(f"{op}: unsupported operand {what}; expected a Tensor, an ndarray of numbers or a "
                    "Python number")


def _check_dim(dim: int, ndim: int, op: str) -> None:
    if not -max(ndim, 1) <= dim < max(ndim, 1):       # a 0-d tensor accepts 0 and -1 (PyTorch)
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {ndim} dimensions")


def _operator(fn: Any, op: str, reflected: bool = False) -> Any:
    """`self <op> other` (or `other <op> self`) as one call of `fn`; the other operand is checked only
    when it is not exactly a Tensor, so the common case costs one `type` test."""
    if reflected:
        def method(self: Tensor, other: Any) -> Tensor:
            return fn.apply(other if type(other) is Tensor else _operand(other, op, self), self)
    else:
        def method(self: Tensor, other: Any) -> Tensor:
            return fn.apply(self, other if type(other) is Tensor else _operand(other, op, self))
    method.__name__ = f"__{'r' if reflected else ''}{op}__"
    return method


class _TensorMethods:
    """The body of Tensor's computing methods (see the module docstring)."""

    # ---- arithmetic ---------------------------------------------------------------------------------
    __add__, __radd__ = _operator(Add, "add"), _operator(Add, "add", reflected=True)
    __sub__, __rsub__ = _operator(Sub, "sub"), _operator(Sub, "sub", reflected=True)
    __mul__, __rmul__ = _operator(Mul, "mul"), _operator(Mul, "mul", reflected=True)
    __truediv__, __rtruediv__ = _operator(Div, "div"), _operator(Div, "div", reflected=True)
    __pow__, __rpow__ = _operator(Pow, "pow"), _operator(Pow, "pow", reflected=True)
    __matmul__, __rmatmul__ = _operator(MatMul, "matmul"), _operator(MatMul, "matmul", reflected=True)
    def __neg__(self) -> Tensor: return Neg.apply(self)
    def __pos__(self) -> Tensor: return self
    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__
    mm = bmm = matmul
    true_divide = divide = __truediv__
    multiply, subtract = __mul__, __sub__

    # ---- unary --------------------------------------------------------------------------------------
    def exp(self) -> Tensor: return Exp.apply(self)
    def log(self) -> Tensor: return Log.apply(self)
    def sqrt(self) -> Tensor: return Sqrt.apply(self)
    def abs(self) -> Tensor: return Abs.apply(self)
    def tanh(self) -> Tensor: return TanhOp.apply(self)
    def sigmoid(self) -> Tensor: return SigmoidOp.apply(self)
    def relu(self) -> Tensor: return ReLUOp.apply(self)
    def neg(self) -> Tensor: return Neg.apply(self)
    def sin(self) -> Tensor: return Sin.apply(self)
    def cos(self) -> Tensor: return Cos.apply(self)
    def tan(self) -> Tensor: return Tan.apply(self)
    def asin(self) -> Tensor: return Asin.apply(self)
    def acos(self) -> Tensor: return Acos.apply(self)
    def atan(self) -> Tensor: return Atan.apply(self)
    def sinh(self) -> Tensor: return Sinh.apply(self)
    def cosh(self) -> Tensor: return Cosh.apply(self)
    def log1p(self) -> Tensor: return Log1p.apply(self)
    def expm1(self) -> Tensor: return Expm1.apply(self)
    def log2(self) -> Tensor: return Log2.apply(self)
    def log10(self) -> Tensor: return Log10.apply(self)
    def square(self) -> Tensor: return Square.apply(self)
    def rsqrt(self) -> Tensor: return Rsqrt.apply(self)
    def reciprocal(self) -> Tensor: return Reciprocal.apply(self)
    def sign(self) -> Tensor: return Piecewise.apply(self, fn=np.sign)
    def floor(self) -> Tensor: return Piecewise.apply(self, fn=np.floor)
    def ceil(self) -> Tensor: return Piecewise.apply(self, fn=np.ceil)
    def round(self) -> Tensor: return Piecewise.apply(self, fn=np.round)   # half to even, as PyTorch
    def trunc(self) -> Tensor: return Piecewise.apply(self, fn=np.trunc)
    def clone(self) -> Tensor: return Clone.apply(self)
    arcsin, arccos, arctan, absolute, negative = asin, acos, atan, abs, neg

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return LeakyReLUOp.apply(self, negative_slope=negative_slope)

    def clamp(self, min: Optional[float] = None, max: Optional[float] = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return Clamp.apply(self, min=min, max=max)
    clip = clamp

    # ---- dtype and device ---------------------------------------------------------------------------
    def to(self, *args: Any, dtype: DTypeLike = None, device: Any = None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other_tensor)`; only the CPU exists."""
        dtype = dtype_of_to_args(args, dtype, device, "to")
        if dtype is None:
            return self.clone() if copy else self
        dt = check_dtype(dtype, "to")
        if dt == self._data.dtype:
            return self.clone() if copy else self
        return Cast.apply(self, dtype=dt)

    def type(self, dtype: DTypeLike = None) -> Any:
        return str(self._data.dtype) if dtype is None else self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor: return self.to(other._data.dtype)
    def int(self) -> Tensor: return self.to(np.int32)
    def bool(self) -> Tensor: return self.to(np.bool_)

    def float(self) -> Tensor: return self.to(np.float32)
    def double(self) -> Tensor: return self.to(np.float64)
    def long(self) -> Tensor: return self.to(np.int64)

    # ---- reductions ---------------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return Mean.apply(self, dim=dim, keepdim=keepdim)

    def var(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return Var.apply(self, dim=dim, keepdim=keepdim, correction=correction)

    def std(self, dim: Any = None, keepdim: bool = False, correction: int = 1) -> Tensor:
        return self.var(dim, keepdim, correction).sqrt()

    def max(self, dim: Optional[int] = None, keepdim: bool = False) -> Any:
        """0-d maximum, or `(values, indices)` along `dim` as in PyTorch."""
        if dim is None:
            _check_not_empty(self, "max")
            return AMax.apply(self, dim=None, keepdim=False, nan_wins=True)
        return MinMax(*ArgReduce.apply(self, dim=dim, keepdim=keepdim, largest=True))

    def min(self, dim: Optional[int] = None, keepdim: bool = False) -> Any:
        if dim is None:
            _check_not_empty(self, "min")
            return AMin.apply(self, dim=None, keepdim=False, nan_wins=True)
        return MinMax(*ArgReduce.apply(self, dim=dim, keepdim=keepdim, largest=False))

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return AMax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return AMin.apply(self, dim=dim, keepdim=keepdim)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    def softmax(self, dim: int = -1) -> Tensor:
        return SoftmaxOp.apply(self, dim=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return LogSoftmaxOp.apply(self, dim=dim)

    # ---- movement -----------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return Reshape.apply(self, shape=_shape_args(shape))
    view = reshape

    def view_as(self, other: Tensor) -> Tensor: return self.reshape(other._data.shape)
    reshape_as = view_as
    def expand_as(self, other: Tensor) -> Tensor: return self.expand(other._data.shape)

    def t(self) -> Tensor:
        if self._data.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got {self._data.ndim}")
        return self.T

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        s = self._data.shape
        if not s:
            return self.reshape(1)
        start, end = start_dim % len(s), end_dim % len(s)
        return self.reshape(s[:start] + (-1,) + s[end + 1:]) if start <= end else self

    def unsqueeze(self, dim: int) -> Tensor:
        nd = self._data.ndim + 1
        if not -nd <= dim < nd:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of {nd - 1} dimensions")
        s = list(self._data.shape)
        s.insert(dim % nd, 1)
        return self.reshape(tuple(s))

    def squeeze(self, dim: Optional[int] = None) -> Tensor:
        s = self._data.shape
        if dim is None:
            return self.reshape(tuple(n for n in s if n != 1))
        _check_dim(dim, len(s), "squeeze")
        if not s or s[dim] != 1:
            return self
        return self.reshape(s[:dim % len(s)] + s[dim % len(s) + 1:])

    def permute(self, *dims: Any) -> Tensor:
        return Permute.apply(self, dims=_shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        nd = self._data.ndim
        for d in (dim0, dim1):
            if not -nd <= d < nd:
                raise IndexError(f"transpose: dim {d} is out of range for a tensor of {nd} dimensions")
        dims = list(range(nd))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return Permute.apply(self, dims=tuple(dims))

    @property
    def T(self) -> Tensor:
        return Permute.apply(self, dims=tuple(range(self._data.ndim - 1, -1, -1)))

    def expand(self, *shape: Any) -> Tensor:
        return Expand.apply(self, shape=_shape_args(shape))

    def __getitem__(self, index: Any) -> Tensor:
        return GetItem.apply(self, index=_plain_index(index))


def _plain_index(index: Any) -> Any:
    """Turn Tensors inside an index into ndarrays (integer-array indexing)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


_CLASS_MACHINERY = {"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__firstlineno__",
                    "__static_attributes__"}


def attach() -> None:
    """Give `Tensor` the methods of `_TensorMethods` (called once, when tinygrad_np.ops is imported)."""
    for name, member in vars(_TensorMethods).items():
        if name not in _CLASS_MACHINERY:
            setattr(Tensor, name, member)


# ---- module-level functions ------------------------------------------------------------------------------
def _tensor_sequence(tensors: Any, op: str) -> tuple:
    """cat/stack take a list or tuple of Tensors; a lone Tensor (which would be split along dim 0), a
    string or a None inside are TypeErrors naming the op and the offending element."""
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: element {i} is a {type(t).__name__}, expected a Tensor")
    return tuple(tensors)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    return Cat.apply(*_tensor_sequence(tensors, "cat"), dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dimension."""
    return Stack.apply(*_tensor_sequence(tensors, "stack"), dim=dim)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise `x if condition else y`; x and y may be Tensors, arrays or Python scalars."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be bool, got dtype {cond.dtype}")
    like = x if isinstance(x, Tensor) else (y if isinstance(y, Tensor) else None)
    if like is not None and like._data.dtype.kind in "iu":      # np.where would wrap 300 into uint8 silently
        info = np.iinfo(like._data.dtype)
        for v in (x, y):
            if type(v) is int and not info.min <= v <= info.max:
                raise ValueError(f"where: Python integer {v} out of bounds for {like._data.dtype}")
    return Where.apply(cond, _operand(x, "where", like), _operand(y, "where", like))
