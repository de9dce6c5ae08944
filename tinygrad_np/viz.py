"""Graph view: the recorded autograd graph of a Tensor as Graphviz DOT text, or rendered to SVG/PNG.

    loss = model(x).sum()
    print(tg.viz.to_dot(loss, params=dict(model.named_parameters())))
    tg.viz.render(loss, "graph.svg", params=dict(model.named_parameters()))

Nodes, as the picture shows them (data flows top to bottom, inputs to output):
- op: a box with the `Function`'s class name and its output's shape and dtype; the tensor
  you passed is the op drawn with a double border;
- parameter (an `nn.Parameter`): a filled blue box, with its name when `params` names it;
- leaf: a green ellipse, a Tensor you created with requires_grad=True;
- constant: a dashed grey note, a Tensor without grad (inputs, targets) or a Python scalar/ndarray
  an op was called with.
Edges carry the input position (0, 1, ...) when an op has several inputs, since `a - b` is not `b - a`.

Call `to_dot`/`render` *before* `backward()`: backward frees the graph (as in PyTorch) unless it is
called with `retain_graph=True`, and a freed graph can no longer be drawn.
Rendering needs the `graphviz` package (`pip install 'tinygrad_np[viz]'`) and Graphviz's `dot` program;
without the package, `render` runs a `dot` program found on PATH directly.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, Dict, List, Optional

import numpy as np

from ._files import atomic_write
from .tensor import Tensor

_STYLES = {
    "op": 'shape=box, style="rounded"',
    "output": 'shape=box, style="rounded,bold", peripheries=2',
    "parameter": 'shape=box, style=filled, fillcolor="#a6cee3"',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#b2df8a"',
    "constant": 'shape=note, style="dashed", color="#777777", fontcolor="#555555"',
}


def _describe(shape: tuple, dtype: Any) -> str:
    return f"{tuple(shape)} {np.dtype(dtype).name}"


def _quote(text: str) -> str:
    """A DOT double-quoted string; `\\n` in `text` stays a DOT line break."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _parameter_type() -> Optional[type]:
    try:   # nn sits above the core: import lazily, and draw without the distinction if it is missing
        from .nn import Parameter
        return Parameter
    except ImportError:
        return None


def to_dot(tensor: Tensor, params: Optional[Dict[str, Tensor]] = None, name: str = "graph") -> str:
    """Graphviz DOT text of the graph that produced `tensor` (walked iteratively: any depth works).

    `params` (e.g. `dict(model.named_parameters())`) gives parameters their names in the picture.
    Raises RuntimeError when part of the graph was already freed by `backward()`.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = {id(t): n for n, t in (params or {}).items()}
    parameter = _parameter_type()
    lines: List[str] = [f"digraph {_quote(name)} {{", '  node [fontname="Helvetica", fontsize=10];',
                        '  edge [fontname="Helvetica", fontsize=8];']
    ids: Dict[int, str] = {}      # id(Function or leaf Tensor) -> DOT node id
    keep: List[Any] = []          # keep walked objects alive so their ids stay unique during the walk

    def node(obj: Any, kind: str, label: str) -> str:
        key = id(obj)
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            keep.append(obj)
            lines.append(f"  {ids[key]} [label={_quote(label)}, {_STYLES[kind]}];")
        return ids[key]

    def leaf(t: Tensor) -> str:
        desc = _describe(t._data.shape, t._data.dtype)
        if parameter is not None and isinstance(t, parameter) or id(t) in names and t.requires_grad:
            title = f"parameter {names[id(t)]}" if id(t) in names else "parameter"
            return node(t, "parameter", f"{title}\n{desc}")
        if t.requires_grad:
            return node(t, "leaf", f"leaf{(' ' + names[id(t)]) if id(t) in names else ''}\n{desc}")
        return node(t, "constant", f"constant\n{desc}")

    def op_label(fn: Any, out: Tensor) -> str:
        if fn.n_outputs > 1:
            outs = ", ".join(_describe(s, d) for s, d in fn._out_meta)
            return f"{type(fn).__name__}\n{outs}"
        return f"{type(fn).__name__}\n{_describe(out._data.shape, out._data.dtype)}"

    root = tensor.grad_fn
    if root is None:
        leaf(tensor)
        lines.append("}")
        return "\n".join(lines) + "\n"
    if root.parents is None:
        raise _freed(root)
    node(root, "output", op_label(root, tensor))
    stack = [root]
    seen = {id(root)}
    while stack:
        fn = stack.pop()
        head = ids[id(fn)]
        multi = sum(1 for p in fn.parents if p is not None) > 1
        for i, parent in enumerate(fn.parents):
            if parent is None:
                continue
            if isinstance(parent, Tensor):
                src_fn = parent.grad_fn
                if src_fn is None:
                    src = leaf(parent)
                else:
                    if src_fn.parents is None:
                        raise _freed(src_fn)
                    src = node(src_fn, "op", op_label(src_fn, parent))
                    if id(src_fn) not in seen:
                        seen.add(id(src_fn))
                        stack.append(src_fn)
                tail = f"out {parent._out_index}" if src_fn is not None and src_fn.n_outputs > 1 else ""
            else:
                src = node(parent, "constant", _constant_label(parent))
                tail = ""
            attrs = [f"label={_quote(str(i))}"] if multi else []
            if tail:
                attrs.append(f"taillabel={_quote(tail)}")
            lines.append(f"  {src} -> {head}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _constant_label(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"constant\n{_describe(value.shape, value.dtype)}"
    text = repr(value.item() if isinstance(value, (np.ndarray, np.generic)) else value)
    return text if len(text) <= 24 else text[:21] + "..."


def _freed(fn: Any) -> RuntimeError:
    return RuntimeError(f"to_dot: the graph through {type(fn).__name__} was freed by backward(); draw the "
                        "graph before calling backward(), or call backward(retain_graph=True)")


def render(tensor: Tensor, path: str, format: Optional[str] = None,
           params: Optional[Dict[str, Tensor]] = None) -> str:
    """Draw `tensor`'s graph into the file `path` (written whole, or not at all) and return `path`.

    The format is the file's extension (`.svg` or `.png`) unless `format` says it; a `format` that
    contradicts the extension is refused (an SVG inside `graph.png` opens nowhere).
    Uses the `graphviz` Python package when installed, else a `dot` program on PATH; with neither,
    raises ImportError saying how to install them.
    """
    suffix = os.path.splitext(str(path))[1].lower().lstrip(".")
    if format is None:
        if suffix not in ("svg", "png"):
            raise ValueError(f"render: cannot tell the format from {str(path)!r}; name the file .svg or .png, "
                             "or pass format='svg' or 'png'")
        format = suffix
    if format not in ("svg", "png"):
        raise ValueError(f"render: format must be 'svg' or 'png', got {format!r}")
    if suffix in ("svg", "png") and suffix != format:
        raise ValueError(f"render: format={format!r} does not match the file name {str(path)!r}")
    source = to_dot(tensor, params=params)
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            data = graphviz.Source(source).pipe(format=format)
        except graphviz.ExecutableNotFound:
            raise RuntimeError("render: the graphviz package is installed but Graphviz's `dot` program is not "
                               "on PATH; install Graphviz (e.g. `apt-get install graphviz` or "
                               "`brew install graphviz`)") from None
    elif shutil.which("dot"):
        proc = subprocess.run(["dot", f"-T{format}"], input=source.encode(), capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"render: dot failed: {proc.stderr.decode(errors='replace').strip()}")
        data = proc.stdout
    else:
        raise ImportError("render needs the graphviz package: pip install 'tinygrad_np[viz]' (plus Graphviz's "
                          "`dot` program, e.g. `apt-get install graphviz`); to_dot() works without them")
    with atomic_write(path, "wb") as f:
        f.write(data)
    return path
