"""Per-op emitters: the NumPy lines of an op's forward and backward, in the eager op's exact order.

Each emitter repeats its Function's arithmetic step for step (same ufuncs, same operand order), writing
into preallocated buffers with `out=`, so a replay gives the eager result bit for bit. Reductions are
spelled `np.add.reduce` / `np.maximum.reduce`: what `a.sum()` / `a.max()` call, without the Python-level
wrapper of `np.sum` / `np.max` (2-3 µs on small arrays). `accepts(node)`
says whether the emitter covers this call (e.g. a 2-D input, no class weights); any op or case without
an emitter replays through its own forward/backward instead (see codegen.py), which is exact too.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from .. import threads
from ..ops.binary import Add, MatMul, Mul, Sub
from ..ops.layers import LinearOp
from ..ops.loss import MSE, BCEWithLogits, CrossEntropy
from ..ops.rowwise import BLAS_DTYPES, max_by_columns, ones
from ..ops.unary import Neg, ReLUOp, SigmoidOp, TanhOp
from ..threads import is_large_product
from .trace import Const, Node, Value


def _is_value(a: Any) -> bool:
    return isinstance(a, Value)


def _matmul(prog: Any, a: str, b: str, out: str, mkn: tuple, comment: str) -> None:
    """One product line. A product large enough for eager's threaded `matmul` (threads.py) calls it, so a
    replay runs the same kernel on the same threads as eager; a small one is NumPy's own call."""
    if is_large_product(*mkn):
        prog.line(f"{prog.named(threads.matmul, 'matmul')}({a}, {b}, out={out})", comment + " (threaded)")
    else:
        prog.line(f"np.matmul({a}, {b}, out={out})", comment)


class Emitter:
    """Base: subclasses write `accepts`, `forward` and `backward` for one op."""
    def accepts(self, node: Node) -> bool: return True
    def forward(self, prog: Any, node: Node) -> None: raise NotImplementedError
    def backward(self, prog: Any, node: Node, g: List[Any]) -> List[Optional[Any]]: raise NotImplementedError


class LinearEmit(Emitter):
    def accepts(self, node):
        x = node.inputs[0]
        return _is_value(x) and len(x.shape) == 2 and _is_value(node.inputs[1]) and not node.kwargs and \
            (len(node.inputs) == 2 or _is_value(node.inputs[2]))

    def forward(self, prog, node):
        x, w = prog.ref(node.inputs[0]), prog.ref(node.inputs[1])
        out = prog.buf(node.outputs[0])
        _matmul(prog, x, f"{w}.T", out, _linear_mkn(node), "LinearOp: x Wᵀ")
        if len(node.inputs) == 3:
            prog.line(f"np.add({out}, {prog.ref(node.inputs[2])}, out={out})", "LinearOp: + b")

    def backward(self, prog, node, g):
        (gy,) = g
        x, w = node.inputs[0], node.inputs[1]
        needs = node.needs
        grads = [None] * len(node.inputs)
        if needs[0]:
            grads[0] = prog.new_grad(x)
            _matmul(prog, gy.name, prog.ref(w), grads[0].name, _linear_mkn(node), "LinearOp: dX = G W")
        if needs[1]:
            grads[1] = prog.new_grad(w)
            _matmul(prog, f"{gy.name}.T", prog.ref(x), grads[1].name, _linear_mkn(node), "LinearOp: dW = Gᵀ X")
        if len(needs) == 3 and needs[2]:
            grads[2] = prog.new_grad(node.inputs[2])
            _sum_rows(prog, gy.name, gy.shape, gy.dtype, grads[2].name, "LinearOp: db = Σ_rows G")
        return grads


def _ones(prog: Any, n: int, dtype: Any) -> str:
    """The name of the cached vector of n ones (one name per program, however many lines use it)."""
    name = prog.named(ones(n, dtype), f"ONES_{n}")
    note = f"# {name}: np.ones({n}, np.{np.dtype(dtype).name}), a constant: sums are products with it"
    if note not in prog.header:
        prog.header.append(note)
    return name


def _sum_rows(prog: Any, a: str, shape: tuple, dtype: Any, out: str, comment: str) -> None:
    """Σ over axis 0 as ops.rowwise.sum_rows computes it (eager and replay round alike)."""
    if np.dtype(dtype) in BLAS_DTYPES:
        prog.line(f"np.matmul({_ones(prog, shape[0], dtype)}, {a}, out={out})",
                  comment + " = 1ᵀ G (one gemv)")
    else:
        prog.line(f"np.add.reduce({a}, axis=0, out={out})", comment)


def _row_max_lines(x: str, shape: tuple, out: str) -> List[tuple]:
    """max over axis 1 into the (M, 1) `out`, as ops.rowwise.row_max computes it."""
    if not max_by_columns(shape):
        return [(f"np.maximum.reduce({x}, axis=1, keepdims=True, out={out})", "row max")]
    col = f"{out}[:, 0]"
    return [(f"np.maximum({x}[:, 0], {x}[:, 1], out={col})", "row max, column by column (few columns, many rows) ..."),
            (f"for j in range(2, {shape[1]}): np.maximum({col}, {x}[:, j], out={col})", "... the other columns")]


def _sum_columns_line(prog: Any, a: str, shape: tuple, dtype: Any, out: str, what: str) -> tuple:
    """Σ over axis 1 as ops.rowwise.sum_columns computes it."""
    if np.dtype(dtype) in BLAS_DTYPES:
        return f"np.matmul({a}, {_ones(prog, shape[1], dtype)}, out={out})", what + " = A 1 (one gemv)"
    return f"np.add.reduce({a}, axis=1, out={out})", what


def _linear_mkn(node: Node) -> tuple:
    """(rows, in features, out features): every product of a Linear layer does 2·m·k·n flops."""
    (m, k), n = node.inputs[0].shape, node.inputs[1].shape[0]
    return m, k, n


class ReLUEmit(Emitter):
    def forward(self, prog, node):
        out = prog.buf(node.outputs[0])
        prog.line(f"np.maximum({prog.ref(node.inputs[0])}, 0, out={out})", "ReLUOp")

    def backward(self, prog, node, g):
        out = node.outputs[0]
        mask = prog.tmp(out.name + "_on", out.shape, np.bool_)
        prog.line(f"np.not_equal({out.name}, 0, out={mask})", "ReLUOp: where the output is not 0 (NaN passes)")
        gx = prog.new_grad(node.inputs[0], shape=out.shape, dtype=out.dtype)
        prog.line(f"np.multiply({g[0].name}, {mask}, out={gx.name})", "ReLUOp: dX = G · [out ≠ 0]")
        return [gx]


class TanhEmit(Emitter):
    def forward(self, prog, node):
        prog.line(f"np.tanh({prog.ref(node.inputs[0])}, out={prog.buf(node.outputs[0])})", "TanhOp")

    def backward(self, prog, node, g):
        return _from_output(prog, node, g[0], "TanhOp", lambda o, t, gy, gx: [
            (f"np.multiply({o}, {o}, out={t})", "out²"), (f"np.subtract(1, {t}, out={t})", "1 − out²"),
            (f"np.multiply({gy}, {t}, out={gx})", "dX = G · (1 − out²)")])


def _from_output(prog: Any, node: Node, g: Any, op: str, lines: Any) -> list:
    """The backward of an elementwise op written from its output: `lines(out, scratch, G, dX)` are its lines."""
    out = node.outputs[0]
    t = prog.tmp(out.name + "_slope", out.shape, out.dtype)
    gx = prog.new_grad(node.inputs[0], shape=out.shape, dtype=out.dtype)
    prog.lines(op, lines(out.name, t, g.name, gx.name))
    return [gx]


class SigmoidEmit(Emitter):
    """σ(x) from e^−|x| ≤ 1, as SigmoidOp computes it (no overflow for any finite x)."""

    def forward(self, prog, node):
        x, out = node.inputs[0], node.outputs[0]
        xn = prog.ref(x)
        z = prog.tmp(out.name + "_z", out.shape, out.dtype)
        pos = prog.tmp(out.name + "_nonneg", out.shape, np.bool_)
        num = prog.local(out.name + "_num")
        prog.lines("SigmoidOp", [
            (f"np.abs({xn}, out={z})", "|x|"),
            (f"np.negative({z}, out={z})", "−|x|"),
            (f"np.exp({z}, out={z})", "z = e^−|x|"),
            (f"np.greater_equal({xn}, 0, out={pos})", "x ≥ 0"),
            (f"{num} = np.where({pos}, 1, {z}).astype(np.{out.dtype.name}, copy=False)", "1 or z"),
            (f"np.add(1, {z}, out={z})", "1 + z"),
            (f"np.divide({num}, {z}, out={prog.buf(out)})", "σ(x)")])

    def backward(self, prog, node, g):
        return _from_output(prog, node, g[0], "SigmoidOp", lambda o, t, gy, gx: [
            (f"np.multiply({gy}, {o}, out={gx})", "G · σ"), (f"np.subtract(1, {o}, out={t})", "1 − σ"),
            (f"np.multiply({gx}, {t}, out={gx})", "dX = G · σ · (1 − σ)")])


class BinaryEmit(Emitter):
    """Add, Sub, Mul: one ufunc into the output's buffer; `backward` per op below."""
    ufunc = ""

    def accepts(self, node):
        return not node.kwargs and any(_is_value(a) for a in node.inputs[:2])

    def forward(self, prog, node):
        a, b = (prog.ref(i) for i in node.inputs)
        prog.line(f"np.{self.ufunc}({a}, {b}, out={prog.buf(node.outputs[0])})", node.op.__name__)


class AddEmit(BinaryEmit):
    ufunc = "add"

    def backward(self, prog, node, g):
        return [g[0].shared(), g[0].shared()]                          # both inputs get G itself


class SubEmit(BinaryEmit):
    ufunc = "subtract"

    def backward(self, prog, node, g):
        gy = None
        if node.needs[1]:
            gy = prog.new_grad(node.inputs[1], shape=g[0].shape, dtype=g[0].dtype)
            prog.line(f"np.negative({g[0].name}, out={gy.name})", "Sub: dY = −G")
        return [g[0].shared(), gy]


class MulEmit(BinaryEmit):
    ufunc = "multiply"

    def backward(self, prog, node, g):
        x, y = node.inputs
        out = node.outputs[0]
        grads: List[Any] = [None, None]
        for i, other in ((0, y), (1, x)):
            if node.needs[i]:
                grads[i] = prog.new_grad(node.inputs[i], shape=out.shape, dtype=out.dtype)
                prog.line(f"np.multiply({g[0].name}, {prog.ref(other)}, out={grads[i].name})",
                          f"Mul: d{'XY'[i]} = G · {'YX'[i]}")
        return grads


class NegEmit(Emitter):
    def forward(self, prog, node):
        prog.line(f"np.negative({prog.ref(node.inputs[0])}, out={prog.buf(node.outputs[0])})", "Neg")

    def backward(self, prog, node, g):
        gx = prog.new_grad(node.inputs[0])
        prog.line(f"np.negative({g[0].name}, out={gx.name})", "Neg: dX = −G")
        return [gx]


class MatMulEmit(Emitter):
    def accepts(self, node):
        return all(_is_value(a) and len(a.shape) == 2 for a in node.inputs) and not node.kwargs

    def forward(self, prog, node):
        a, b = (prog.ref(i) for i in node.inputs)
        _matmul(prog, a, b, prog.buf(node.outputs[0]), _matmul_mkn(node), "MatMul")

    def backward(self, prog, node, g):
        x, y = node.inputs
        grads: List[Any] = [None, None]
        if node.needs[0]:
            grads[0] = prog.new_grad(x)
            _matmul(prog, g[0].name, f"{y.name}.T", grads[0].name, _matmul_mkn(node), "MatMul: dX = G Yᵀ")
        if node.needs[1]:
            grads[1] = prog.new_grad(y)
            _matmul(prog, f"{x.name}.T", g[0].name, grads[1].name, _matmul_mkn(node), "MatMul: dY = Xᵀ G")
        return grads


def _matmul_mkn(node: Node) -> tuple:
    (m, k), n = node.inputs[0].shape, node.inputs[1].shape[1]
    return m, k, n


class CrossEntropyEmit(Emitter):
    """The plain case: no class weights, no ignored rows, mean over rows, no label smoothing."""

    def accepts(self, node):
        x, t = node.inputs[0], node.inputs[1]
        w = node.inputs[2] if len(node.inputs) > 2 else Const(None)
        kw = node.kwargs
        return (_is_value(x) and len(x.shape) == 2 and _is_value(t) and isinstance(w, Const) and w.value is None
                and _kw(kw, "ignored", None) and _kw(kw, "reduction", "mean") and _kw(kw, "label_smoothing", 0.0))

    def forward(self, prog, node):
        x, t = node.inputs[0], node.inputs[1]
        M, C = x.shape
        out = node.outputs[0]
        # x[rows, t] as x.flat[row · C + t]: one flat index array serves forward and backward, and indexing
        # with one array costs about half of indexing with two (callgrind, the 64-16-10 MLP's step)
        starts = prog.const(np.arange(M) * C, "row_starts")
        mx = prog.tmp("ce_max", (M, 1), x.dtype)
        sh = prog.tmp("ce_shifted", (M, C), x.dtype)
        pr = prog.tmp("ce_probs", (M, C), x.dtype)
        s = prog.tmp("ce_sum", (M,), x.dtype)
        ls = prog.tmp("ce_logsum", (M,), x.dtype)
        per = prog.tmp("ce_per_row", (M,), x.dtype)
        sh_flat, s_col, pick = prog.local("ce_shifted_flat"), prog.local("ce_sum_col"), prog.local("ce_pick")
        prog.header += [f"{sh_flat} = {sh}.reshape(-1)", f"{s_col} = {s}[:, None]"]     # views, made once
        xn, tn = prog.ref(x), prog.ref(t)
        prog.lines("CrossEntropy", [
            (f"{pick} = np.add({starts}, {tn})", "flat index of each row's target: row · C + target"),
            *_row_max_lines(xn, (M, C), mx),
            (f"np.subtract({xn}, {mx}, out={sh})", "shifted = x − max"),
            (f"np.exp({sh}, out={pr})", "e^shifted"),
            _sum_columns_line(prog, pr, (M, C), x.dtype, s, "Σ_c e^shifted"),
            (f"np.log({s}, out={ls})", "log Σ (≥ 0: s ≥ 1)"),
            (f"np.subtract({ls}, {sh_flat}[{pick}], out={per})", "−log p[target]"),
            (f"{out.name} = np.asarray(np.add.reduce({per}) / {M})", "mean over rows"),
            (f"np.divide({pr}, {s_col}, out={pr})", "softmax, kept for backward")])
        prog.scratch[id(node)] = (pr, pick)

    def backward(self, prog, node, g):
        x, t = node.inputs[0], node.inputs[1]
        M = x.shape[0]
        pr, pick = prog.scratch[id(node)]
        scale = _scale(prog, "ce_scale", g[0], lambda u: u / M, f"{g[0].name} / {M}", "CrossEntropy: upstream / N")
        gx = prog.new_grad(x)
        gx_flat = prog.local(gx.name + "_flat")
        prog.header.append(f"{gx_flat} = {gx.name}.reshape(-1)")
        prog.line(f"np.multiply({pr}, {scale}, out={gx.name})", "CrossEntropy: dX = softmax / N ...")
        prog.line(f"{gx_flat}[{pick}] -= {scale}", "CrossEntropy: ... − onehot / N (at row · C + target)")
        return [gx] + [None] * (len(node.inputs) - 1)


class MSEEmit(Emitter):
    def accepts(self, node):
        x, y = node.inputs
        return _is_value(x) and _kw(node.kwargs, "reduction", "mean") and \
            (not _is_value(y) or y.shape == x.shape)

    def forward(self, prog, node):
        x, y = node.inputs
        d = prog.tmp("mse_diff", x.shape, x.dtype)
        sq = prog.tmp("mse_sq", x.shape, x.dtype)
        prog.line(f"np.subtract({prog.ref(x)}, {prog.ref(y)}, out={d})", "MSE: d = x − y")
        prog.line(f"np.multiply({d}, {d}, out={sq})", "MSE: d²")
        prog.line(f"{node.outputs[0].name} = np.asarray(np.add.reduce({sq}, axis=None) / {int(np.prod(x.shape))})", "MSE: mean")
        prog.scratch[id(node)] = d

    def backward(self, prog, node, g):
        x, y = node.inputs
        d = prog.scratch[id(node)]
        n = int(np.prod(x.shape))
        scale = _scale(prog, "mse_scale", g[0], lambda u: 2 * (u / n), f"2 * ({g[0].name} / {n})",
                       "MSE: 2 · upstream / N")
        gx = prog.new_grad(x)
        prog.line(f"np.multiply({scale}, {d}, out={gx.name})", "MSE: dX = 2 (x − y) / N")
        gy = None
        if node.needs[1]:
            gy = prog.new_grad(y)
            prog.line(f"np.negative({gx.name}, out={gy.name})", "MSE: dY = −dX")
        return [gx, gy]


class BCEWithLogitsEmit(Emitter):
    """The plain case: no weights, no pos_weight, mean; the target needs no gradient."""

    def accepts(self, node):
        x, y = node.inputs[0], node.inputs[1]
        rest = node.inputs[2:]
        return (_is_value(x) and _is_value(y) and y.shape == x.shape and not node.needs[1]
                and all(isinstance(c, Const) and c.value is None for c in rest)
                and _kw(node.kwargs, "weight", None) and _kw(node.kwargs, "pos_weight", None)
                and _kw(node.kwargs, "reduction", "mean"))

    def forward(self, prog, node):
        x, y = node.inputs[0], node.inputs[1]
        shape, dtype = x.shape, x.dtype
        z, sp, neg, per = (prog.tmp(n, shape, dtype) for n in ("bce_z", "bce_softplus", "bce_relu_neg", "bce_per"))
        xn, yn = prog.ref(x), prog.ref(y)
        prog.lines("BCEWithLogits", [
            (f"np.abs({xn}, out={z})", "|x|"),
            (f"np.negative({z}, out={z})", "−|x|"),
            (f"np.exp({z}, out={z})", "z = e^−|x| ≤ 1 (no overflow)"),
            (f"np.log1p({z}, out={sp})", "log(1 + z)"),
            (f"np.negative({xn}, out={neg})", "−x"),
            (f"np.maximum({neg}, 0, out={neg})", "max(−x, 0)"),
            (f"np.add({sp}, {neg}, out={sp})", "softplus(−x) = log(1 + e^−x)"),
            (f"np.subtract(1, {yn}, out={per})", "1 − y"),
            (f"np.multiply({per}, {xn}, out={per})", "(1 − y)·x"),
            (f"np.add({per}, {sp}, out={per})", "(1 − y)·x + softplus(−x)")])
        n = int(np.prod(shape))
        prog.line(f"{node.outputs[0].name} = np.asarray(np.add.reduce({per}, axis=None) / {n})", "BCEWithLogits: mean")
        prog.scratch[id(node)] = z

    def backward(self, prog, node, g):
        x, y = node.inputs[0], node.inputs[1]
        z = prog.scratch[id(node)]
        n = int(np.prod(x.shape))
        scale = _scale(prog, "bce_scale", g[0], lambda u: u / n, f"{g[0].name} / {n}", "BCEWithLogits: upstream / N")
        pos = prog.tmp("bce_x_nonneg", x.shape, np.bool_)
        onepz = prog.tmp("bce_1_plus_z", x.shape, x.dtype)
        sig = prog.local("bce_sigmoid")
        gx = prog.new_grad(x)
        prog.line(f"np.greater_equal({prog.ref(x)}, 0, out={pos})", "BCEWithLogits: x ≥ 0")
        prog.line(f"np.add(1, {z}, out={onepz})", "BCEWithLogits: 1 + z")
        prog.line(f"{sig} = np.where({pos}, 1, {z})", "BCEWithLogits: 1 or z (numerator of σ(x))")
        prog.line(f"np.divide({sig}, {onepz}, out={sig})", "BCEWithLogits: σ(x), stable on both sides")
        prog.line(f"np.subtract({sig}, {prog.ref(y)}, out={sig})", "BCEWithLogits: σ(x) − y")
        prog.line(f"np.multiply({scale}, {sig}, out={gx.name})", "BCEWithLogits: dX = (σ(x) − y) / N")
        return [gx] + [None] * (len(node.inputs) - 1)


def _scale(prog: Any, name: str, g: Any, compute: Any, code: str, comment: str) -> str:
    """A scalar factor of the upstream gradient: computed once at trace time when the upstream is the
    constant seed (the same arithmetic, so the same bits), else a line of the program."""
    if g.constant is not None:
        return prog.const(compute(g.constant), name)
    scale = prog.local(name)
    prog.line(f"{scale} = {code}", comment)
    return scale


def _kw(kwargs: dict, key: str, expected: Any) -> bool:
    c = kwargs.get(key)
    if c is None:
        return True                                   # the Function's default, which all these emitters expect
    return isinstance(c, Const) and (c.value is expected or (expected is not None and c.value == expected))


EMITTERS: Dict[type, Emitter] = {LinearOp: LinearEmit(), ReLUOp: ReLUEmit(), TanhOp: TanhEmit(),
                                 SigmoidOp: SigmoidEmit(), Add: AddEmit(), Sub: SubEmit(),
                                 Mul: MulEmit(), Neg: NegEmit(), MatMul: MatMulEmit(),
                                 CrossEntropy: CrossEntropyEmit(), MSE: MSEEmit(), BCEWithLogits: BCEWithLogitsEmit()}
