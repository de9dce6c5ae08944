"""Small benchmarks: per-op overhead, conv/pool layers, the optimizer step alone, the matmul peak.

Each `make_*` returns a `Bench`: `step()` is what gets timed; `inner` says how many operations one
`step()` performs (micro-ops run in inner loops, so the clock's own cost does not dominate them; the
loop's cost, ~20 ns per iteration, is included and not subtracted).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from . import hand, specs


@dataclass
class Bench:
    step: Callable[[], Any]
    inner: int = 1
    reset: Optional[Callable[[], None]] = None


def _lib(framework: str) -> Any:
    if framework == "tinygrad_np":
        import tinygrad_np
        import tinygrad_np.nn  # noqa: F401  (submodules, in case the package does not import them)
        import tinygrad_np.optim  # noqa: F401
        return tinygrad_np
    import torch
    return torch


def _tensor(framework: str, a: np.ndarray, requires_grad: bool = False) -> Any:
    lib = _lib(framework)
    if framework == "torch":
        return lib.from_numpy(a.copy()).requires_grad_(requires_grad)
    return lib.Tensor(a.copy(), requires_grad=requires_grad)


# ---- per-op overhead ----------------------------------------------------------------------------------
ADD_INNER = 500
CHAIN_INNER = 20
CHAIN_INPUTS = {"x": 0.3, "w": 0.7, "c": -0.2}


def make_add(framework: str, requires_grad: bool) -> Bench:
    """`a + b` on 1-element float32 operands; the result (and its graph node) is dropped at once."""
    a0, b0 = np.array([1.5], np.float32), np.array([-0.5], np.float32)
    if framework == "hand":
        a, b = a0, b0
    else:
        a, b = _tensor(framework, a0, requires_grad), _tensor(framework, b0, requires_grad)
    rng = range(ADD_INNER)

    def step() -> None:
        for _ in rng:
            a + b
    return Bench(step, ADD_INNER)


def chain_forward(x: Any, w: Any, c: Any) -> Any:
    """Ten ops, the same code for tinygrad_np and PyTorch tensors."""
    t3 = (x * w + c).tanh()
    t7 = ((t3 * t3 - x).exp()) / w
    return (t7.sigmoid() * 2.0).sum()


def chain_hand(x: np.ndarray, w: np.ndarray, c: np.ndarray) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """The same ten ops on bare ndarrays, with the backward written by hand."""
    t1 = x * w
    t2 = t1 + c
    t3 = np.tanh(t2)
    t4 = t3 * t3
    t5 = t4 - x
    t6 = np.exp(t5)
    t7 = t6 / w
    t8 = 1 / (1 + np.exp(-t7))
    t9 = t8 * 2.0
    loss = t9.sum()
    d7 = 2.0 * t8 * (1 - t8)
    d6 = d7 / w
    dw = -d7 * t7 / w
    d5 = d6 * t6
    dx = -d5
    d2 = d5 * 2 * t3 * (1 - t3 * t3)
    dx = dx + d2 * w
    dw = dw + d2 * x
    return loss, {"x": dx, "w": dw, "c": d2}


def make_chain(framework: str) -> Bench:
    arrays = {k: np.array([v], np.float32) for k, v in CHAIN_INPUTS.items()}
    rng = range(CHAIN_INNER)
    if framework == "hand":
        x, w, c = arrays["x"], arrays["w"], arrays["c"]

        def step() -> None:
            for _ in rng:
                chain_hand(x, w, c)
        return Bench(step, CHAIN_INNER)
    ts = [_tensor(framework, arrays[k], True) for k in ("x", "w", "c")]

    def step() -> None:
        for _ in rng:
            for t in ts:
                t.grad = None
            chain_forward(*ts).backward()
    return Bench(step, CHAIN_INNER)


def chain_gradients(framework: str) -> Dict[str, np.ndarray]:
    arrays = {k: np.array([v], np.float32) for k, v in CHAIN_INPUTS.items()}
    if framework == "hand":
        return chain_hand(arrays["x"], arrays["w"], arrays["c"])[1]
    ts = {k: _tensor(framework, a, True) for k, a in arrays.items()}
    chain_forward(ts["x"], ts["w"], ts["c"]).backward()
    return {k: np.array(t.grad.detach().numpy() if framework == "torch" else t.grad.numpy())
            for k, t in ts.items()}


# ---- conv / pool layers at the seed CNN's shapes -------------------------------------------------------
def make_layer(framework: str, name: str) -> Bench:
    """Forward + backward of one layer against a fixed upstream gradient."""
    bench = specs.LAYERS[name]
    conv = bench.layer.kind == "conv"
    rng = np.random.default_rng(7)
    x = rng.standard_normal(bench.in_shape, dtype=np.float32)
    need_dx = not bench.first
    if conv:
        w_shape = bench.layer.weight_shape
        W = (rng.standard_normal(w_shape) * np.sqrt(2 / math.prod(w_shape[1:]))).astype(np.float32)
        b = np.zeros(w_shape[0], np.float32)
    g = rng.standard_normal(bench.out_shape, dtype=np.float32)
    if framework == "hand":
        if conv:
            def step() -> None:
                out, cache = hand.conv2d_forward(x, W, b)
                hand.conv2d_backward(g, W, cache, need_input_grad=need_dx)
        else:
            def step() -> None:
                out, cache = hand.maxpool2_forward(x)
                hand.maxpool2_backward(g, cache, x.shape)
        return Bench(step)
    lib = _lib(framework)
    F = lib.nn.functional
    xt = _tensor(framework, x, need_dx)
    gt = _tensor(framework, g)
    if conv:
        Wt, bt = _tensor(framework, W, True), _tensor(framework, b, True)
        leaves = [xt, Wt, bt]

        def step() -> None:
            for t in leaves:
                t.grad = None
            F.conv2d(xt, Wt, bt).backward(gt)
    else:
        def step() -> None:
            xt.grad = None
            F.max_pool2d(xt, 2).backward(gt)
    return Bench(step)


# ---- the optimizer step alone (MNIST MLP) ---------------------------------------------------------------
def make_sgd(framework: str) -> Bench:
    spec = specs.get_model("mnist_mlp")
    init = specs.make_params(spec)
    rng = np.random.default_rng(3)
    grads = {k: rng.standard_normal(v.shape, dtype=np.float32) for k, v in init.items()}
    if framework == "hand":
        params = [v.copy() for v in init.values()]
        glist = list(grads.values())

        def reset() -> None:
            for p, v in zip(params, init.values()):
                p[...] = v
        return Bench(lambda: hand.sgd_update(params, glist, specs.LR), reset=reset)
    lib = _lib(framework)
    model = spec.build(lib.nn)
    conv = (lambda a: lib.from_numpy(a.copy())) if framework == "torch" else (lambda a: lib.Tensor(a.copy()))
    model.load_state_dict({k: conv(v) for k, v in init.items()})
    for name, p in model.named_parameters():
        p.grad = conv(grads[name])
    opt = lib.optim.SGD(model.parameters(), lr=specs.LR)

    def reset() -> None:
        model.load_state_dict({k: conv(v) for k, v in init.items()})
    return Bench(opt.step, reset=reset)


# ---- the machine's limit and the drift sentinel ---------------------------------------------------------
MATMUL_N = 1024
SENTINEL_N = 256


def make_matmul(n: int = MATMUL_N) -> Bench:
    """float32 n x n x n matmul into a preallocated output: 2 n^3 FLOPs per step."""
    rng = np.random.default_rng(11)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    return Bench(lambda: np.matmul(a, b, out=out))
