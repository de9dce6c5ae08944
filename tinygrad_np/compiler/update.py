"""The optimizer update in a program: plain SGD as its NumPy lines, other optimizers through their kernel.

Plain SGD (no momentum, no weight decay) is θ −= lr · g, two lines per parameter. When every parameter
of a group has its gradient in a buffer of the program (the usual step: zero_grad, one backward), those
buffers are laid out as consecutive slices of one array, and so are the `lr · g` scratch buffers: the
multiply is then one call for the whole group instead of one per parameter (elementwise, so the same
bits; on the tiny MLPs a NumPy call is a few % of the step). The subtraction stays one per parameter:
the parameters are the model's own arrays, which the program does not move.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ..optim.sgd import SGD


def emit_step(prog: Any, opt: Any, params: list, stored: Dict[int, str]) -> None:
    """The lines of one `opt.step()`: `params` are (parameter, group) with a gradient, in the step's order."""
    oname = prog.named(opt, type(opt).__name__.upper())
    groups: List[tuple] = []                          # (group, [params]) in order of first appearance
    for p, group in params:
        if not groups or groups[-1][0] is not group:
            groups.append((group, []))
        groups[-1][1].append(p)
    for group, ps in groups:
        gi = next(i for i, g in enumerate(opt.param_groups) if g is group)
        gname = prog.named(group, f"{oname}_GROUP{gi}")
        plain = type(opt) is SGD and not group["momentum"] and not group["weight_decay"]
        if not plain:
            for p in ps:
                h, v = prog.holder(p), prog.tr.value_of_tensor(p)
                grad = stored.get(id(p), f"{h}.grad._data")
                prog.line(f"{oname}._update({h}, {grad}, {gname}, _opt_state({oname}, {h}, {gname}))",
                          f"{type(opt).__name__} update of {v.name} (the optimizer's own kernel)")
            continue
        if not any(line[0].startswith(f"if {gname}['momentum']") for line in prog.prologue):
            prog.prologue.append((f"if {gname}['momentum'] or {gname}['weight_decay']: raise Retrace",
                                  "SGD's settings changed: trace again"))
        prog.line(f"lr{gi} = {gname}['lr']", "SGD: the learning rate, read every step")
        values = [prog.tr.value_of_tensor(p) for p in ps]
        grads = [stored.get(id(p)) for p in ps]
        flat = _flat_buffers(prog, grads, values, f"sgd_grads{gi}")
        if flat is not None:
            steps = prog.local(f"sgd_steps{gi}")
            prog.header.append(f"{steps} = np.empty({flat[1]}, np.{values[0].dtype.name})  "
                               f"# lr · gradient of every parameter of group {gi}, one array")
            names = []
            for v, (start, stop) in zip(values, flat[2]):
                names.append(prog.local(f"step_{v.name}"))
                prog.header.append(f"{names[-1]} = {steps}[{start}:{stop}].reshape({tuple(v.shape)!r})")
            prog.line(f"np.multiply({flat[0]}, lr{gi}, out={steps})",
                      f"SGD: lr · gradient, all {len(ps)} parameters at once (one array holds their gradients)")
            for v, t in zip(values, names):
                prog.line(f"np.subtract({v.name}, {t}, out={v.name})", f"SGD: {v.name} −= lr · gradient")
            continue
        for p, v, grad in zip(ps, values, grads):
            grad = grad or f"{prog.holder(p)}.grad._data"
            t = prog.tmp(f"step_{v.name}", v.shape, v.dtype)
            prog.line(f"np.multiply({grad}, lr{gi}, out={t})", "SGD: lr · gradient")
            prog.line(f"np.subtract({v.name}, {t}, out={v.name})", f"SGD: {v.name} −= lr · gradient")


def _flat_buffers(prog: Any, grads: list, values: list, base: str) -> Any:
    """Re-declare the gradient buffers `grads` as consecutive slices of one new array, when each is a
    buffer of this program (declared `name = np.empty(...)` and not yet re-declared) of one dtype:
    (the array's name, its length, [(start, stop)]), else None and nothing changes."""
    if len(grads) < 2 or any(g is None for g in grads) or len({v.dtype for v in values}) != 1:
        return None
    declared = {f"{g} = np.empty({tuple(v.shape)!r}, np.{v.dtype.name})": g for g, v in zip(grads, values)}
    where = {declared[line]: i for i, line in enumerate(prog.header) if line in declared}
    if len(where) != len(grads) or len(set(grads)) != len(grads):
        return None
    name = prog.local(base)
    spans, start = [], 0
    for g, v in zip(grads, values):
        size = int(np.prod(v.shape))
        spans.append((start, start + size))
        prog.header[where[g]] = f"{g} = {name}[{start}:{start + size}].reshape({tuple(v.shape)!r})"
        start += size
    first = min(where.values())
    prog.header.insert(first, f"{name} = np.empty({start}, np.{values[0].dtype.name})  "
                              f"# the gradients below, one array: one lr · gradient for all")
    return name, start, spans
