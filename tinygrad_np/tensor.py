"""`Tensor`: an ndarray plus the autograd bookkeeping (requires_grad, grad, grad_fn).

This file holds what a tensor *is*: construction under the dtype policy (dtypes.py), autograd state,
read-out, comparisons and `backward`. What a tensor can *compute* (`+`, `exp`, `sum`, `reshape`, …)
is each a one-line call of one `Function`; those methods live with the ops (ops/tensor_api.py) and
are attached to this class when the ops load, so the core never imports the layer above it.
"""
from __future__ import annotations

import weakref
from typing import Any, Iterator, Optional, Union

import numpy as np

from .autograd import RemovableHandle, leaf_hooks, run_backward
from .device import _CPU, check_device
from .dtypes import DTypeLike, as_array, check_grad_dtype

_new = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple, plus `numel()` (PyTorch's torch.Size)."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class Tensor:
    """An n-dimensional array that records the operations applied to it for reverse-mode autodiff."""

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_out_index", "__weakref__")
    __array_ufunc__ = None   # make `ndarray + Tensor` call Tensor.__radd__ instead of converting the Tensor
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike = None) -> None:
        arr = as_array(data._data if isinstance(data, Tensor) else data, dtype)
        if requires_grad:
            check_grad_dtype(arr, "tensor")
        self._data: np.ndarray = arr
        self._requires_grad = bool(requires_grad)
        self.grad: Optional[Tensor] = None
        self.grad_fn = None
        self._out_index = 0

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool, grad_fn: Any) -> "Tensor":
        """Internal fast constructor: wraps an ndarray that already obeys the dtype policy."""
        t = _new(Tensor)
        t._data = data
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
            check_grad_dtype(self._data, "requires_grad_")
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad_: a non-leaf tensor always requires grad; use .detach()")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs).
        The node holds the tensor by weak reference: tensor → node → tensor would be a cycle that keeps
        every retained activation alive until the cyclic garbage collector runs."""
        if self.grad_fn is None:
            return
        if self.grad_fn._retained is None:
            self.grad_fn._retained = {}
        self.grad_fn._retained[self._out_index] = weakref.ref(self)

    def register_hook(self, hook: Any) -> RemovableHandle:
        """Call `hook(grad)` with this tensor's total gradient in every backward; a returned Tensor
        replaces the gradient. Returns a handle whose `.remove()` unregisters the hook (as PyTorch)."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            hooks = leaf_hooks.get(id(self))
            if hooks is None:
                hooks = leaf_hooks[id(self)] = []
                weakref.finalize(self, leaf_hooks.pop, id(self), None)
        else:
            node = self.grad_fn
            if node._hooks is None:
                node._hooks = {}
            hooks = node._hooks.setdefault(self._out_index, (Tensor._make, []))[1]
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: Optional[bool] = None, create_graph: bool = False,
                 inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) · gradient into every leaf's `.grad` (only into `inputs`' when given).

        `create_graph=True` records the backward pass itself, so the `.grad`s are differentiable
        (docs/higher-order.md); `retain_graph` then defaults to True, as in PyTorch."""
        if create_graph or inputs is not None:
            return self._backward_graph(gradient, retain_graph, create_graph, inputs)
        if not self._requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn "
                               "(did you compute it under no_grad, or from tensors without requires_grad?)")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward: gradient can be implied only for a one-element tensor; this one "
                                   f"has shape {self._data.shape}, so pass gradient= of that shape")
            grad = np.ones(self._data.shape, self._data.dtype)
        else:
            try:
                grad = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            except ValueError as e:                  # a ragged list
                raise TypeError(f"backward: gradient must be a Tensor or an array of numbers ({e})") from None
            if grad.dtype.kind not in "fiub":        # [1, None] would write NaN into .grad
                raise TypeError(f"backward: gradient must hold numbers, got dtype {grad.dtype}")
            if grad.shape != self._data.shape:
                raise ValueError(f"backward: gradient has shape {grad.shape}, but the tensor has shape "
                                 f"{self._data.shape}")
            grad = grad.astype(self._data.dtype, copy=False)
        run_backward(self, grad, bool(retain_graph))

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._make(self._data, False, None)

    @property
    def data(self) -> "Tensor":
        """A detached Tensor sharing this tensor's memory, as in PyTorch (the ndarray is `.numpy()`)."""
        return Tensor._make(self._data, False, None)

    @data.setter
    def data(self, value: Any) -> None:
        """`t.data = other` swaps in another array (shape and dtype may change), as PyTorch allows."""
        self._data = as_array(value._data if isinstance(value, Tensor) else value, op="data")

    # ---- read-out ---------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    def size(self, dim: Optional[int] = None) -> Union[Size, int]:
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    # ---- device: always the CPU (device.py) ------------------------------------------------------------
    @property
    def device(self) -> Any:
        return _CPU

    is_cuda = False

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "Tensor":
        check_device("cuda", "Tensor.cuda")
        return self

    def contiguous(self) -> "Tensor":
        return self

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def numpy(self) -> np.ndarray:
        """The underlying ndarray, without a copy."""
        return self._data

    def item(self) -> Union[float, int, bool]:
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python scalar, "
                             f"got shape {self._data.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if copy:                         # np.array(t) asks for a copy; np.asarray(t) shares memory
            return self._data.astype(dtype or self._data.dtype, copy=True)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """An integer one-element tensor used as an index (`classes[label]`)."""
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an index, got dtype "
                            f"{self._data.dtype} and shape {self._data.shape}")
        return int(self._data.item())

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = f", dtype={self._data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- comparisons and arg-reductions: integer/bool results, never differentiable -------------------
    def _cmp(self, other: Any, ufunc: np.ufunc) -> "Tensor":
        o = other._data if isinstance(other, Tensor) else other
        try:
            return Tensor._make(np.asarray(ufunc(self._data, o)), False, None)
        except ValueError:
            raise ValueError(f"{ufunc.__name__}: shapes {self._data.shape} and {np.shape(o)} cannot be "
                             "broadcast together") from None

    def __lt__(self, other: Any) -> "Tensor": return self._cmp(other, np.less)
    def __le__(self, other: Any) -> "Tensor": return self._cmp(other, np.less_equal)
    def __gt__(self, other: Any) -> "Tensor": return self._cmp(other, np.greater)
    def __ge__(self, other: Any) -> "Tensor": return self._cmp(other, np.greater_equal)
    def __eq__(self, other: Any) -> "Tensor": return self._cmp(other, np.equal)  # type: ignore[override]
    def __ne__(self, other: Any) -> "Tensor": return self._cmp(other, np.not_equal)  # type: ignore[override]
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def argmax(self, dim: Optional[int] = None, keepdim: bool = False) -> "Tensor":
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim: Optional[int] = None, keepdim: bool = False) -> "Tensor":
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn: Any, dim: Optional[int], keepdim: bool) -> "Tensor":
        name = fn.__name__
        if dim is not None and (not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_))):
            raise TypeError(f"{name}: dim must be an int, got {dim!r}")
        if dim is not None and not -max(self._data.ndim, 1) <= dim < max(self._data.ndim, 1):
            raise IndexError(f"{name}: dim {dim} is out of range for a tensor of {self._data.ndim} dimensions")
        if self._data.size == 0 and (dim is None or not self._data.ndim or self._data.shape[dim] == 0):
            raise IndexError(f"{name}: cannot take the {name} of an empty tensor of shape {self._data.shape}")
        if dim is None:
            return Tensor._make(np.asarray(fn(self._data), dtype=np.int64), False, None)
        return Tensor._make(fn(self._data, axis=dim, keepdims=keepdim).astype(np.int64, copy=False), False, None)


def tensor(data: Any, requires_grad: bool = False, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """Make a new Tensor (a copy when `data` is a Tensor or ndarray, like torch.tensor)."""
    check_device(device, "tensor")
    source = data._data if isinstance(data, Tensor) else data
    arr = as_array(source, dtype)
    if arr is source:
        arr = arr.copy()
    if requires_grad:
        check_grad_dtype(arr, "tensor")
    return Tensor._make(arr, bool(requires_grad), None)   # the dtype policy already ran in as_array
