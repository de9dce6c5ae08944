"""From a Trace to the source of one Python function: forward, backward and update, one line per step.

The source is the replay: it is `exec`ed once and the function it defines is what a compiled step calls.
Layout of a program: the preallocated buffers (module level, reused by every replay), then
`def step(...)`: the prologue (read arguments and parameters, guards that ask for a new trace),
the recorded events in order (ops, backward, optimizer update), and the return.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import grad_mode
from . import fusion, update
from .emitters import EMITTERS
from .runtime import HELPERS, _Shape
from .trace import Const, Node, Pack, Trace, Value


class G:
    """A gradient in the source: its name, static shape/dtype, and whether nothing else holds its array."""
    __slots__ = ("name", "shape", "dtype", "private", "maybe_none", "constant")

    def __init__(self, name: str, shape: tuple, dtype: Any, private: bool, maybe_none: bool = False,
                 constant: Any = None) -> None:
        self.name, self.shape, self.dtype, self.private, self.maybe_none = name, shape, dtype, private, maybe_none
        self.constant = constant             # the array itself when it is the same on every replay (the seed)

    def shared(self) -> "G":
        return G(self.name, self.shape, self.dtype, False, self.maybe_none, self.constant)


def _literal(value: Any) -> bool:
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is tuple:                 # not a namedtuple: its repr would need its class
        return all(_literal(v) for v in value)
    return False


class Program:
    """The source being written, the names it uses and the objects its namespace holds."""

    def __init__(self, tr: Trace) -> None:
        self.tr = tr
        self.header: List[str] = []
        self.prologue: List[Tuple[str, str]] = []
        self.body: List[Tuple[str, str]] = []
        self.ns: Dict[str, Any] = dict(HELPERS)
        self.scratch: Dict[int, Any] = {}
        self.private_values: set = set()
        self.holders: Dict[int, str] = {}
        self.fused: Dict[int, tuple] = {}    # id(node) -> its part in a rewrite of fusion.py

    # ---- names --------------------------------------------------------------------------------------
    def ref(self, inp: Any) -> str:
        if isinstance(inp, Pack):
            return "(" + ", ".join(self.ref(i) for i in inp.items) + ("," if len(inp.items) == 1 else "") + ")"
        return inp.name if isinstance(inp, Value) else self.const(inp.value if isinstance(inp, Const) else inp)

    def const(self, value: Any, hint: str = "c") -> str:
        if _literal(value):
            return repr(value)
        if isinstance(value, np.dtype):
            return f"np.{value.name}"
        name = self.tr.unique(hint.upper())
        self.ns[name] = value
        what = f"array {value.shape} {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        self.header.append(f"# {name}: a constant {what}, kept by reference")
        return name

    def named(self, obj: Any, hint: str) -> str:
        """A name in the namespace for an object the source calls (a Function class, an optimizer)."""
        for name, held in self.ns.items():
            if held is obj:
                return name
        name = self.tr.unique(hint)
        self.ns[name] = obj
        return name

    def local(self, base: str) -> str:
        return self.tr.unique(base)

    def tmp(self, base: str, shape: tuple, dtype: Any) -> str:
        name = self.tr.unique(base)
        self.header.append(f"{name} = np.empty({tuple(shape)!r}, np.{np.dtype(dtype).name})")
        return name

    def buf(self, value: Value) -> str:
        value.buffer = True
        self.header.append(f"{value.name} = np.empty({tuple(value.shape)!r}, np.{np.dtype(value.dtype).name})")
        return value.name

    def new_grad(self, value: Value, shape: Optional[tuple] = None, dtype: Any = None) -> G:
        shape = value.shape if shape is None else shape
        dtype = value.dtype if dtype is None else dtype
        return G(self.tmp("d_" + value.name, shape, dtype), shape, dtype, True)

    def line(self, code: str, comment: str) -> None:
        self.body.append((code, comment))

    def lines(self, op: str, items: List[Tuple[str, str]]) -> None:
        """Several lines of one op, each commented `op: what`."""
        self.body.extend((code, f"{op}: {what}") for code, what in items)

    def holder(self, t: Any) -> str:
        """The name of the Tensor object itself (a parameter, or an argument's Tensor)."""
        v = self.tr.value_of_tensor(t)
        if v.kind == "arg":
            return f"{v.name}_tensor"
        return f"P_{v.name}"

    # ---- assembly -----------------------------------------------------------------------------------
    def source(self, arg_names: List[str], returns: str) -> str:
        width = min(max([len(c) for c, _ in self.prologue + self.body] + [40]), 64) + 2
        out = [f"# generated by tg.compile from {self.tr.fn_name}(): one line per op, forward → backward → update",
               "# buffers below are allocated once and reused by every replay (out=)"]
        out += self.header
        params = [f"{n}_tensor" if n else f"_constant{i}" for i, n in enumerate(arg_names)]
        out.append(f"def {self.tr.fn_name}({', '.join(params)}):")
        tensors = [n for n in arg_names if n]
        if tensors:
            out.append("    try:")
            for n in tensors:
                out.append(f"        {n} = {n}_tensor._data".ljust(width + 4) + f"  # argument {n}")
            out.append("    except AttributeError:".ljust(width + 4) + "  # not a Tensor where the trace had one")
            out.append("        raise Retrace")
        for code, comment in self.prologue + self.body:
            out.append(f"    {code.ljust(width)}  # {comment}" if comment else f"    {code}")
        out.append(f"    return {returns}")
        return "\n".join(out) + "\n"


def generate(tr: Trace, result_spec: Any) -> Tuple[str, dict]:
    """The source of the program for `tr` and the namespace to exec it in."""
    tr.rename_externs()
    prog = Program(tr)
    prog.fused = fusion.plan(tr, result_spec)
    zeroed: set = set()
    stored: Dict[int, str] = {}
    for event in tr.events:
        kind = event[0]
        if kind == "op":
            _emit_op(prog, event[1])
        elif kind == "ufunc":
            _, ufunc, (a, b), v = event
            prog.line(f"{v.name} = np.{ufunc.__name__}({prog.ref(a)}, {prog.ref(b)})", f"comparison {ufunc.__name__}")
        elif kind == "view":
            _, v, base = event
            code = f"{v.name} = {base.name}" if len(base.shape) == 1 else f"{v.name} = {base.name}.reshape(-1)"
            (prog.prologue if base.kind == "arg" else prog.body).append((code, "targets as one row"))
        elif kind == "check_targets":
            _, v, classes, ignore_index, op = event
            target = prog.prologue if v.kind == "arg" or v.name.endswith("_flat") else prog.body
            if not int(np.prod(v.shape)):          # the shape is part of the signature: no targets, no check
                continue
            # negatives viewed as unsigned are huge; np.maximum.reduce, not .max(): ~1 µs less per call
            check = f"np.maximum.reduce({v.name}.view(np.uint{8 * v.dtype.itemsize})) >= {classes}"
            if 0 <= ignore_index < classes:
                check += f" or ({v.name} == {ignore_index}).any()"
            target.append((f"if {check}: _check_targets({v.name}, {classes}, {ignore_index}, {op!r})",
                           f"{op}: every target a class in [0, {classes}), as eager checks"))
        elif kind == "count_batch":
            prog.line(f"{event[1].name} += 1", "BatchNorm: num_batches_tracked")
        elif kind == "zero_grad":
            _, params, set_to_none = event
            for p in params:
                h = prog.holder(p)
                if set_to_none:
                    prog.line(f"{h}.grad = None", "zero_grad")
                    zeroed.add(id(p))
                else:
                    prog.line(f"if {h}.grad is not None: {h}.grad = _make(np.zeros_like({h}._data), False, None)",
                              "zero_grad(set_to_none=False)")
                    zeroed.discard(id(p))
                stored.pop(id(p), None)
        elif kind == "backward":
            _emit_backward(prog, event[1], zeroed, stored)
        elif kind == "step":
            update.emit_step(prog, event[1], event[2], stored)
    # parameters and other outside tensors: read at every replay, so outside changes are seen
    loads, checks = [], []                 # checks: (expression, the value the trace saw, what it is)
    for v in (v for v in tr.values.values() if v.kind == "arg"):
        checks += [(f"{v.name}.shape", v.shape, f"argument {v.name}: shape, dtype, requires_grad"),
                   (f"{v.name}.dtype", v.dtype, ""), (f"{v.name}_tensor._requires_grad", v.holder._requires_grad, "")]
    for i, name in enumerate(tr.arg_names):
        if name is None:
            value = tr.constants[i]
            checks += [(f"type(_constant{i})", type(value), f"argument {i}: a constant"), (f"_constant{i}", value, "")]
    prog.ns["is_grad_enabled"] = grad_mode.is_grad_enabled      # the public call: robust to how the flag is kept
    checks.append(("is_grad_enabled()", grad_mode.is_grad_enabled(), "grad mode"))
    for m, training in tr.modules:
        n = prog.named(m, "M_" + (tr.names.get(id(m)) or type(m).__name__.lower()))
        checks.append((f"{n}.training", training, f"train/eval of {n[2:]}"))
    for v in tr.externs:
        h = f"P_{v.name}"
        prog.ns[h] = v.holder
        loads.append((f"{v.name} = {h}._data", f"{type(v.holder).__name__} {v.name}, read at every replay"))
        checks += [(f"{v.name}.shape", v.shape, f"{v.name}: may change from outside"),
                   (f"{v.name}.dtype", v.dtype, ""), (f"{h}._requires_grad", v.holder._requires_grad, "")]
    # one tuple comparison for the whole signature: ~0.3 µs, where one `if` per item cost ~0.3 µs each
    prog.ns["SIGNATURE"] = tuple(value for _, value, _ in checks)
    groups: List[list] = []
    for expr, _, what in checks:             # one source line per argument, module or parameter
        if what or not groups:
            groups.append([[], what])
        groups[-1][0].append(expr)
    guards = [(("if (" if k == 0 else "    ") + ", ".join(exprs) + ("," if k < len(groups) - 1 else ") != SIGNATURE:"),
               what) for k, (exprs, what) in enumerate(groups)]
    guards.append(("    raise Retrace", "a new signature: trace again (nothing has changed yet)"))
    loads += guards
    prog.prologue = loads + prog.prologue
    return prog.source(tr.arg_names, _returns(prog, result_spec)), prog.ns


def _returns(prog: Program, spec: Any) -> str:
    if spec is None:
        return "None"
    if isinstance(spec, Value):
        if spec.name in prog.private_values:
            return f"_make({spec.name}, False, None)"
        return f"_out({spec.name}, False)"
    kind, items = spec
    inner = ", ".join(_returns(prog, s) for s in items)
    if kind is tuple:
        return f"({inner}{',' if len(items) == 1 else ''})"
    return f"[{inner}]"


# ---- ops --------------------------------------------------------------------------------------------
def _emit_op(prog: Program, node: Node) -> None:
    role = prog.fused.get(id(node))
    if role is not None:
        return fusion.forward(prog, node, role)
    emitter = EMITTERS.get(node.op)
    if emitter is not None and emitter.accepts(node):
        emitter.forward(prog, node)
        node.ctx_name = ""
        for v in node.outputs:
            if not v.buffer:
                prog.private_values.add(v.name)
        return
    name = prog.named(node.op, node.op.__name__)
    node.ctx_name = ctx = prog.local(f"ctx_{node.outputs[0].name}")
    args = [prog.ref(i) for i in node.inputs] + [f"{k}={prog.ref(v)}" for k, v in node.kwargs.items()]
    user = not node.op.__module__.startswith("tinygrad_np.")
    what = f"{name}: your Function's own forward" if user else f"{name} (the library's kernel)"
    meta = prog.const(tuple((tuple(v.shape), v.dtype) for v in node.outputs), "meta_" + node.outputs[0].name)
    prog.line(f"{ctx} = _ctx({name}, {node.needs!r}, {node.record}, {meta})", f"{name}: a node for its backward")
    # an output that is an input returned as it is keeps its name; rebinding a buffer's name would make it local
    outs = ", ".join(v.name if v.kind == "op" and not v.buffer else "_" for v in node.outputs)
    call = f"{name}.forward({', '.join([ctx] + args)})"
    if len(node.outputs) == 1:
        prog.line(f"{outs} = _arr({call})", what)
    else:
        prog.line(f"{outs} = _arrs({call})", what)


# ---- backward ---------------------------------------------------------------------------------------
def _emit_backward(prog: Program, plan: dict, zeroed: set, stored: Dict[int, str]) -> None:
    root, root_node = plan["root"], plan["root_node"]
    grads: Dict[tuple, G] = {}
    seed = prog.local("d_" + root.name)
    if root_node.ctx_name:        # replayed through its own backward, which might write into its gradient
        prog.line(f"{seed} = np.ones({tuple(root.shape)!r}, np.{root.dtype.name})", "backward: d loss / d loss = 1")
        grads[(id(root_node), plan["root_index"])] = G(seed, root.shape, root.dtype, False)
    else:
        prog.ns[seed] = ones = np.ones(root.shape, root.dtype)
        prog.header.append(f"# {seed}: ones {tuple(root.shape)} — backward starts from d loss / d loss = 1")
        grads[(id(root_node), plan["root_index"])] = G(seed, root.shape, root.dtype, False, constant=ones)
    leaves: Dict[int, Tuple[Any, G]] = {}
    for node, route in zip(plan["order"], plan["routes"]):
        gouts = [grads.pop((id(node), k), None) for k in range(len(node.outputs))]
        if all(g is None for g in gouts):
            continue
        raw = _node_backward(prog, node, gouts)
        for i, target in route:
            g = raw[i]
            if g is None:
                continue
            g = _fit_static(prog, g, node.inputs[i], node.op.__name__)
            if target[0] == "leaf":
                key = id(target[1])
                prev = leaves.get(key)
                leaves[key] = (target[1], g if prev is None else _sum(prog, prev[1], g))
            else:
                key = (id(target[1]), target[2])
                prev = grads.get(key)
                grads[key] = g if prev is None else _sum(prog, prev, g)
    uses: Dict[str, int] = {}
    for _, g in leaves.values():
        uses[g.name] = uses.get(g.name, 0) + 1
    for t, g in leaves.values():
        h = prog.holder(t)
        private = g.private and not g.maybe_none and uses[g.name] == 1
        if id(t) in zeroed and private:
            # zero_grad set .grad to None earlier in this step and nothing read it since: that line is dead,
            # and one Tensor kept with the program wraps the gradient buffer (cheaper than a new one per step)
            prog.body = [line for line in prog.body if line[0] != f"{h}.grad = None"]
            holder = prog.named(_make_tensor(g), f"GRAD_{g.name}")
            prog.line(f"{holder}._data = {g.name}", "backward: the gradient buffer ...")
            prog.line(f"{h}.grad = {holder}", f"... is {h[2:] if h.startswith('P_') else h}.grad")
            stored[id(t)] = g.name
        else:
            prog.line(f"_set_grad({h}, {g.name}, {private})", "backward: store or add to .grad")
            stored.pop(id(t), None)
        zeroed.discard(id(t))


def _make_tensor(g: G) -> Any:
    from ..tensor import Tensor
    return Tensor._make(np.empty(g.shape, g.dtype), False, None)


def _node_backward(prog: Program, node: Node, gouts: List[Optional[G]]) -> List[Optional[G]]:
    role = prog.fused.get(id(node))
    if role is not None:
        return fusion.backward(prog, node, role, gouts)
    if not node.ctx_name:                         # written out by its emitter
        gs = []
        for g, v in zip(gouts, node.outputs):
            if g is not None and g.maybe_none:
                prog.line(f"{g.name} = _nz({g.name}, {tuple(v.shape)!r}, np.{v.dtype.name})", "None → zeros")
            gs.append(g)
        return EMITTERS[node.op].backward(prog, node, gs)
    name = prog.named(node.op, node.op.__name__)
    names = [prog.local("d_" + (i.name if isinstance(i, Value) else "const")) if need else "_"
             for i, need in zip(node.inputs, node.needs)]
    glist = "[" + ", ".join("None" if g is None else g.name for g in gouts) + "]"
    lhs = ", ".join(names) + ("," if len(names) == 1 else "")
    prog.line(f"{lhs} = run_node({node.ctx_name}, {glist})", f"{name}: its own backward")
    result: List[Optional[G]] = []
    for i, (inp, n) in enumerate(zip(node.inputs, names)):
        if n == "_":
            result.append(None)
            continue
        like = prog.const(_Shape(inp.shape, inp.dtype), "like_" + inp.name)
        prog.line(f"{n} = _fit({n}, {like}, {name!r}, {i})", "fit to the input's shape and dtype")
        result.append(G(n, inp.shape, inp.dtype, False, True))
    return result


def _fit_static(prog: Program, g: G, inp: Any, op: str) -> G:
    """autograd.fit_gradient with shapes known at trace time: the sums that undo broadcasting, a cast."""
    if g.maybe_none or (g.shape == inp.shape and g.dtype == inp.dtype):
        return g
    name = g.name
    shape = inp.shape
    if g.shape != shape:
        lead = len(g.shape) - len(shape)
        cur = g.shape
        if lead:
            new = prog.local(f"{name}_sum")
            prog.line(f"{new} = np.add.reduce({name}, axis={tuple(range(lead))!r})", f"{op}: sum over broadcast leading axes")
            name, cur = new, cur[lead:]
        ones = tuple(i for i, s in enumerate(shape) if s == 1 and cur[i] != 1)
        if ones:
            new = prog.local(f"{name}_sum")
            prog.line(f"{new} = np.add.reduce({name}, axis={ones!r}, keepdims=True)", f"{op}: sum over broadcast axes")
            name = new
    if g.dtype != inp.dtype:
        new = prog.local(f"{name}_cast")
        prog.line(f"{new} = {name}.astype(np.{inp.dtype.name})", f"{op}: gradient in the input's dtype")
        name = new
    return G(name, inp.shape, inp.dtype, True)


def _sum(prog: Program, a: G, b: G) -> G:
    if a.maybe_none or b.maybe_none:
        name = prog.local(a.name + "_acc")
        prog.line(f"{name} = _acc({a.name}, {b.name})", "gradients from two uses add up")
        return G(name, a.shape, a.dtype, False, True)
    name = prog.tmp(a.name.split("__")[0] + "_total", a.shape, a.dtype)
    prog.line(f"np.add({a.name}, {b.name}, out={name})", "gradients from two uses add up")
    return G(name, a.shape, a.dtype, True)
