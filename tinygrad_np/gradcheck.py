"""`gradcheck`: backprop against central finite differences, in float64, with PyTorch's meaning.

The scalar being differentiated is L(x) = Σₖ ⟨vₖ, fₖ(x)⟩ with random upstream gradients vₖ, so every
entry of the Jacobian takes part (a plain `.sum()` would hide errors that cancel across outputs).
Slow mode compares every element of every input; `fast_mode` compares one random directional
derivative per input, uᵀ∇L, which costs two evaluations of `fn` instead of two per element.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import numpy as np

from .grad_mode import enable_grad, no_grad
from .gradcheck_explain import Case, diagnose
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Backprop and finite differences disagree beyond the tolerances."""


def _outputs(result: Any) -> list:
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError("gradcheck: fn must return a Tensor or a tuple of Tensors")
    return [o for o in outs if o._data.dtype.kind == "f"]


def _objective(fn: Callable, inputs: list, vs: list) -> float:
    with no_grad():
        outs = _outputs(fn(*inputs))
    return float(sum(np.sum(v * o._data) for v, o in zip(vs, outs)))


def gradcheck(fn: Callable[..., Any], inputs: Union[Tensor, Sequence[Any]], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, fast_mode: bool = False,
              raise_exception: bool = True, seed: int = 0) -> bool:
    """Check `fn`'s backprop against central differences for every input with requires_grad=True.

    Float inputs are copied to float64 first (the check is meaningless in float32). Returns True, or
    raises `GradcheckError` (returns False when `raise_exception=False`) naming the input, the worst
    index, both values and the tolerances.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    xs: list = []
    for x in inputs:
        if isinstance(x, Tensor) and x._data.dtype.kind == "f":
            xs.append(Tensor(x._data.astype(np.float64, order="C"), requires_grad=x.requires_grad))
        else:
            xs.append(x)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn(*xs))
    if not outs or not any(o.requires_grad for o in outs):
        raise ValueError("gradcheck: fn's outputs do not depend on any input that requires grad")
    vs = [rng.standard_normal(o._data.shape) for o in outs]
    analytic = backprop(fn, xs, checked, vs)

    for i in checked:
        x = xs[i]._data
        if fast_mode:
            u = rng.standard_normal(x.shape)
            base = x.copy()
            x += eps * u
            plus = _objective(fn, xs, vs)
            x[...] = base - eps * u
            minus = _objective(fn, xs, vs)
            x[...] = base
            numerical, backprop_u = (plus - minus) / (2 * eps), float(np.sum(analytic[i] * u))
            if abs(backprop_u - numerical) > atol + rtol * abs(numerical):
                return _fail(f"gradcheck (fast_mode): input {i}, random direction: backprop {backprop_u:.6g} vs "
                             f"numerical {numerical:.6g} (atol={atol:g}, rtol={rtol:g}); rerun with "
                             "fast_mode=False to find the index", raise_exception)
            continue
        numerical = central_differences(fn, xs, i, vs, eps)
        excess = np.abs(analytic[i] - numerical) - (atol + rtol * np.abs(numerical))
        if excess.size and (np.max(excess) > 0 or not np.all(np.isfinite(analytic[i]))):
            worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), x.shape)
            message = (f"gradcheck: input {i}, index {tuple(int(w) for w in worst)}: backprop "
                       f"{analytic[i][worst]:.6g} vs numerical {numerical[worst]:.6g} (atol={atol:g}, rtol={rtol:g})")
            why = diagnose(Case(
                i, x, analytic[i], numerical, worst, eps, atol, rtol, [o._data.dtype for o in outs],
                [o._data.size for o in outs], vs, backprop_with=lambda v, i=i: backprop(fn, xs, checked, v)[i],
                numerical_with=lambda v, i=i: central_differences(fn, xs, i, v, eps),
                objective=lambda: _objective(fn, xs, vs)))
            return _fail(message if why is None else f"{message}\n  diagnosis: {why}", raise_exception)
    return True


def backprop(fn: Callable, xs: list, checked: list, vs: list) -> dict:
    """{input index: ∂⟨v, fn(xs)⟩/∂x by backprop} for the `checked` inputs (fresh leaves each time)."""
    for i in checked:
        xs[i].grad = None
    with enable_grad():
        outs = _outputs(fn(*xs))
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    for k, (o, v) in enumerate(live):
        o.backward(v, retain_graph=k < len(live) - 1)
    return {i: (xs[i].grad._data.copy() if xs[i].grad is not None else np.zeros_like(xs[i]._data)) for i in checked}


def central_differences(fn: Callable, xs: list, i: int, vs: list, eps: float) -> np.ndarray:
    """∂⟨v, fn(xs)⟩/∂xs[i] by central differences, one element at a time."""
    x = xs[i]._data
    numerical = np.empty(x.shape)
    flat = x.reshape(-1)          # a view: perturbing it perturbs the input
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        plus = _objective(fn, xs, vs)
        flat[j] = orig - eps
        minus = _objective(fn, xs, vs)
        flat[j] = orig
        numerical.reshape(-1)[j] = (plus - minus) / (2 * eps)
    return numerical


def _fail(message: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradgradcheck(fn: Callable[..., Any], inputs: Union[Tensor, Sequence[Any]], grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, fast_mode: bool = False,
                  raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives, as PyTorch's `gradgradcheck`: gradcheck the map
    (inputs, v) ↦ ∂⟨v, fn(inputs)⟩/∂inputs, computed with `tg.autograd.grad(create_graph=True)`.

    `grad_outputs` (the v, one per float output) defaults to random float64 tensors that require grad,
    so the check covers both ∂²/∂x² and ∂²/∂x∂v. Same tolerances and errors as `gradcheck`."""
    from .autograd_graph import grad              # above the ops, as this module is

    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    xs = [Tensor(x._data.astype(np.float64, order="C"), requires_grad=x.requires_grad)
          if isinstance(x, Tensor) and x._data.dtype.kind == "f" else x for x in inputs]
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input has requires_grad=True, so there is nothing to check")
    with enable_grad():
        outs = [o for o in _outputs(fn(*xs)) if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        vs = [Tensor(rng.standard_normal(o._data.shape), requires_grad=True) for o in outs]
    else:
        given = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        vs = [Tensor(np.asarray(v._data if isinstance(v, Tensor) else v, np.float64),
                     requires_grad=isinstance(v, Tensor) and v.requires_grad) for v in given]
    n = len(xs)

    def first_derivatives(*args: Any) -> tuple:
        ins, v = args[:n], args[n:]
        with enable_grad():
            out = [o for o in _outputs(fn(*ins)) if o.requires_grad]
            grads = grad(out, [ins[i] for i in checked], v, create_graph=True, allow_unused=True)
        return tuple(Tensor._make(np.zeros_like(ins[i]._data), False, None) if g is None else g
                     for i, g in zip(checked, grads))
    return gradcheck(first_derivatives, xs + vs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode,
                     raise_exception=raise_exception, seed=seed)
