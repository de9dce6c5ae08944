"""Rewrites the compiler makes because it sees the whole step: each gives eager's numbers bit for bit.

ReLU before a max pool (`pool(relu(x))`, the seed CNN's conv → ReLU → pool): the pool runs on x and the
ReLU on the pool's output, which is the kernel area (4x for 2x2) smaller, and the ReLU's backward mask
is applied to the pooled gradient before the pool scatters it. Why it is exact, for tiling windows
(kernel == stride, no padding, no dilation; every input element in at most one window):

- forward: ReLU is monotone, so max(relu(window)) = relu(max(window)); when the max is ≤ 0 both give
  +0 (np.maximum(v, 0) returns +0 for v = −0.0). A NaN propagates through both.
- the winner: MaxPool's running maximum moves only on a strictly larger element, so without NaN its
  winner is the first maximum, the same element of the window before and after the ReLU when the max is
  > 0. When the max is ≤ 0 the winners may differ, but the ReLU mask is 0 at eager's winner and is 0 for
  the rewritten window, so every element of that window gets G·0 on both paths (the same signed zero, or
  NaN when G is inf/NaN). With a NaN in the window, both pools pick its last NaN (PyTorch's rule; ReLU
  keeps NaN where it is), whose ReLU mask is 1 like the pooled NaN's; `_nan_windows_mask` takes the mask
  from the element the pool picked all the same, so the rewrite does not depend on that rule.
- backward: eager's dx = (G · [k = winner]) · mask, the rewrite's (G · mask) · [k = winner], with both
  factors 0 or 1: the same product (sign of G; NaN from inf·0 on both sides).

Overlapping or padded windows add several windows' gradients into one element before eager's mask,
which can differ in the sign of a zero, so they are not rewritten.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from ..ops.pool import MaxPool, _slabs
from ..ops.unary import ReLUOp
from .trace import Const, Node, Pack, Trace, Value


def plan(tr: Trace, result_spec: Any) -> Dict[int, tuple]:
    """The rewrites of this trace: id(node) -> ("pool_of_relu", relu node) for the pool and
    ("relu_after_pool", pool node) for the ReLU it absorbs."""
    producers: Dict[int, Node] = {}
    uses: Dict[int, int] = {}
    ops: List[Node] = []
    for event in tr.events:
        for v in _values_in(event):
            uses[id(v)] = uses.get(id(v), 0) + 1
        if event[0] == "op":
            ops.append(event[1])
            for v in event[1].outputs:
                producers.setdefault(id(v), event[1])
    for v in _values_in(("result", result_spec)):
        uses[id(v)] = uses.get(id(v), 0) + 1
    fused: Dict[int, tuple] = {}
    for pool in ops:
        if pool.op is not MaxPool or not pool.inputs or not isinstance(pool.inputs[0], Value):
            continue
        mid = pool.inputs[0]
        relu = producers.get(id(mid))
        if relu is None or relu.op is not ReLUOp or id(relu) in fused or uses.get(id(mid)) != 1:
            continue                                     # the ReLU's output is read elsewhere: keep it
        geo = pool.kwargs.get("geometry")
        x = relu.inputs[0] if relu.inputs else None
        if not (isinstance(geo, Const) and geo.value is not None and geo.value.tiles and len(relu.outputs) == 1
                and isinstance(x, Value) and x.shape == mid.shape and x.dtype == mid.dtype
                and mid.dtype.kind == "f" and int(np.prod(pool.outputs[0].shape)) > 0
                and relu.needs == pool.needs and relu.record == pool.record and not relu.kwargs
                and len(pool.inputs) == 1 and len(pool.outputs) == 1):
            continue
        fused[id(pool)] = ("pool_of_relu", relu)
        fused[id(relu)] = ("relu_after_pool", pool)
    return fused


def _values_in(obj: Any) -> List[Value]:
    """Every Value an event (or a result spec) refers to."""
    if isinstance(obj, Value):
        return [obj]
    if isinstance(obj, Node):
        return [v for i in list(obj.inputs) + list(obj.kwargs.values()) for v in _values_in(i)]
    if isinstance(obj, Pack):
        return [v for i in obj.items for v in _values_in(i)]
    if isinstance(obj, (tuple, list)):
        return [v for i in obj for v in _values_in(i)]
    if isinstance(obj, dict):                            # a backward plan: its root is read
        return _values_in(obj.get("root"))
    return []


def forward(prog: Any, node: Node, role: tuple) -> None:
    """The pool on the ReLU's input, then the ReLU on the pooled output (the ReLU itself emits nothing)."""
    if role[0] == "relu_after_pool":
        node.ctx_name = ""
        return
    relu = role[1]
    x, mid, out = relu.inputs[0], node.inputs[0], node.outputs[0]
    name = prog.named(MaxPool, "MaxPool")
    node.ctx_name = ctx = prog.local(f"ctx_{out.name}")
    meta = prog.const(((tuple(out.shape), out.dtype),), "meta_" + out.name)
    geo = prog.ref(node.kwargs["geometry"])
    prog.line(f"{ctx} = _ctx({name}, {node.needs!r}, {node.record}, {meta})", f"{name}: a node for its backward")
    prog.line(f"{out.name} = _arr({name}.forward({ctx}, {x.name}, geometry={geo}))",
              f"{name} of {x.name}, before the ReLU {mid.name}: max(relu(x)) = relu(max(x)) (fusion.py)")
    prog.line(f"np.maximum({out.name}, 0, out={out.name})", f"ReLUOp {mid.name}, moved after the pool")


def backward(prog: Any, node: Node, role: tuple, gouts: List[Any]) -> List[Optional[Any]]:
    """The moved ReLU's mask on the pooled gradient, then the pool's own backward (its scatter)."""
    from .codegen import G
    if role[0] == "relu_after_pool":                     # the pool's scatter already is d(relu input)
        return [gouts[0]]
    (g,) = gouts
    out, mid = node.outputs[0], node.inputs[0]
    name = prog.named(MaxPool, "MaxPool")
    if g.maybe_none:
        prog.line(f"{g.name} = _nz({g.name}, {tuple(out.shape)!r}, np.{out.dtype.name})", "None → zeros")
    mask = prog.tmp(out.name + "_on", out.shape, np.bool_)
    fix = prog.named(_nan_windows_mask, "_nan_windows_mask")
    gm = prog.tmp(f"d_{out.name}_on", out.shape, out.dtype)
    d = prog.local("d_" + role[1].inputs[0].name)         # the scatter's result is already d(relu input)
    prog.lines(f"ReLUOp {mid.name} (moved)", [
        (f"np.not_equal({out.name}, 0, out={mask})", "where the pooled output is not 0 (NaN passes)"),
        (f"if np.isnan(np.maximum.reduce({out.name}, axis=None)): {fix}({mask}, {role[1].inputs[0].name}, "
         f"{node.ctx_name})", "a NaN window: the mask of the element the pool picked, as eager"),
        (f"np.multiply({g.name}, {mask}, out={gm})", "G · [out ≠ 0], before the pool's scatter")])
    like = prog.const(_shape_of(mid), "like_" + mid.name)
    prog.line(f"{d}, = run_node({node.ctx_name}, [{gm}])", f"{name}: its own backward")
    prog.line(f"{d} = _fit({d}, {like}, {name!r}, 0)", "fit to the input's shape and dtype")
    return [G(d, mid.shape, mid.dtype, False, True)]


def _shape_of(v: Value) -> Any:
    from .runtime import _Shape
    return _Shape(v.shape, v.dtype)


def _nan_windows_mask(mask: np.ndarray, x: np.ndarray, ctx: Any) -> None:
    """The ReLU mask as eager applies it: [relu(x) ≠ 0] at the element each window's pool picked
    (the recorded winner), which differs from [pooled ≠ 0] only in windows holding a NaN."""
    (idx,) = ctx.saved_tensors
    picked = np.empty(mask.shape, x.dtype)
    for k, s in enumerate(_slabs(x, ctx.geo)):
        np.copyto(picked, s, where=idx == k)
    np.logical_not(picked <= 0, out=mask)              # relu(v) ≠ 0 ⟺ v > 0 or v is NaN
