"""tinygrad_np.viz: the DOT text names every op, shape and dtype, marks parameters, leaves and constants
differently, draws each node once, survives deep graphs, refuses freed graphs, and renders when it can."""
import re
import shutil
import sys
import types

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import viz

NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(?: \[(.*)\])?;$")


def parse(dot):
    """{node id: (label lines, style attrs)} and [(source label, target label, edge attrs)]."""
    nodes, edges = {}, []
    for line in dot.splitlines():
        if (m := NODE.match(line)):
            nodes[m.group(1)] = (m.group(2).split("\\n"), m.group(3))
        elif (m := EDGE.match(line)):
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
    named = [(nodes[a][0][0], nodes[b][0][0], attrs) for a, b, attrs in edges]
    return nodes, named


def kinds(nodes):
    """The first label line of each node, by drawing style."""
    out = {}
    for label, style in nodes.values():
        kind = ("output" if "peripheries=2" in style else "parameter" if "#a6cee3" in style else
                "leaf" if "ellipse" in style else "constant" if "dashed" in style else "op")
        out.setdefault(kind, []).append(label)
    return out


def test_mlp_graph_names_ops_shapes_dtypes_and_marks_node_kinds():
    from tinygrad_np.nn import Parameter
    x = tg.Tensor(np.ones((5, 3), np.float32))                       # data: a constant
    w1, b1 = Parameter(np.ones((3, 4), np.float32)), Parameter(np.zeros(4, np.float32))
    w2 = tg.Tensor(np.ones((4, 2), np.float32), requires_grad=True)  # a plain leaf, not a Parameter
    loss = ((x @ w1 + b1).relu() @ w2).sum() * 0.5
    nodes, edges = parse(viz.to_dot(loss, params={"fc1.weight": w1}))
    k = kinds(nodes)
    assert k["output"] == [["Mul", "() float32"]]
    assert sorted(lbl[0] for lbl in k["op"]) == ["Add", "MatMul", "MatMul", "ReLUOp", "Sum"]
    assert ["ReLUOp", "(5, 4) float32"] in k["op"] and ["Sum", "() float32"] in k["op"]
    assert sorted(k["parameter"]) == [["parameter", "(4,) float32"], ["parameter fc1.weight", "(3, 4) float32"]]
    assert k["leaf"] == [["leaf", "(4, 2) float32"]]
    assert sorted(k["constant"]) == [["0.5"], ["constant", "(5, 3) float32"]]
    assert len(nodes) == 11 and len(edges) == 10                    # a tree: every node but the output has one edge out
    # data flows from inputs to the output; operands of two-input ops carry their position
    assert ("parameter fc1.weight", "MatMul", 'label="1"') in edges
    assert ("constant", "MatMul", 'label="0"') in edges
    assert ("ReLUOp", "MatMul", 'label="0"') in edges and ("leaf", "MatMul", 'label="1"') in edges
    assert ("Add", "ReLUOp", "") in edges and ("Sum", "Mul", 'label="0"') in edges and ("0.5", "Mul", 'label="1"') in edges


def test_shared_subexpressions_are_drawn_once():
    a = tg.Tensor(np.arange(3.0), requires_grad=True)
    e = a.exp()
    y = e * e + e
    nodes, edges = parse(viz.to_dot(y))
    assert [lbl[0] for lbl, _ in nodes.values()].count("Exp") == 1
    assert [lbl[0] for lbl, _ in nodes.values()].count("leaf") == 1
    assert sorted(edges) == sorted([("Mul", "Add", 'label="0"'), ("Exp", "Add", 'label="1"'),
                                    ("Exp", "Mul", 'label="0"'), ("Exp", "Mul", 'label="1"'), ("leaf", "Exp", "")])


def test_deep_chain_is_walked_without_recursion():
    x = tg.Tensor(np.ones(2), requires_grad=True)
    y, one = x, 1.0
    for _ in range(20_000):
        y = y * one
    nodes, edges = parse(viz.to_dot(y))
    assert len(nodes) == 20_000 + 2                                   # 20,000 Mul, one leaf, one shared constant
    assert len(edges) == 40_000


def test_freed_graph_is_refused_and_retain_graph_keeps_it():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    y = (x * 2.0).sum()
    y.backward(retain_graph=True)
    assert "Mul" in viz.to_dot(y)
    y.backward()
    with pytest.raises(RuntimeError, match=r"to_dot: the graph through Sum was freed by backward\(\).*retain_graph"):
        viz.to_dot(y)


def test_a_leaf_or_untracked_tensor_is_a_single_node():
    nodes, edges = parse(viz.to_dot(tg.Tensor(np.ones((2, 2)), requires_grad=True)))
    assert [lbl for lbl, _ in nodes.values()] == [["leaf", "(2, 2) float64"]] and edges == []
    with tg.no_grad():
        y = tg.Tensor(np.ones(2), requires_grad=True) * 3.0
    nodes, _ = parse(viz.to_dot(y))
    assert [lbl for lbl, _ in nodes.values()] == [["constant", "(2,) float64"]]


def test_multi_output_ops_show_every_output_and_which_one_is_used():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    values, _ = x.max(1)
    nodes, edges = parse(viz.to_dot(values.sum()))
    labels = [lbl for lbl, _ in nodes.values()]
    assert ["ArgReduce", "(2,) float64, (2,) int64"] in labels
    assert ("ArgReduce", "Sum", 'taillabel="out 0"') in edges


def test_array_constants_and_names_are_quoted_safely():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    y = x - np.arange(3.0)
    dot = viz.to_dot(y, params={'odd "name"\\': x}, name='my "graph"')
    assert dot.startswith('digraph "my \\"graph\\"" {')
    assert 'label="parameter odd \\"name\\"\\\\\\n(3,) float64"' in dot
    nodes, edges = parse(dot)
    assert ("constant", "Sub", 'label="1"') in edges


def test_to_dot_rejects_non_tensors():
    with pytest.raises(TypeError, match="to_dot: expected a Tensor, got ndarray"):
        viz.to_dot(np.ones(2))


def small_graph():
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    return (x.relu() * 2.0).sum()


def test_render_with_the_dot_program(tmp_path, monkeypatch):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    monkeypatch.setitem(sys.modules, "graphviz", None)                # force the `dot` fallback
    out = viz.render(small_graph(), str(tmp_path / "g.svg"))
    text = open(out).read()
    assert "<svg" in text and "ReLU" in text and "Sum" in text
    png = viz.render(small_graph(), str(tmp_path / "g.png"), format="png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_render_prefers_the_graphviz_package(tmp_path, monkeypatch):
    seen = {}

    class Source:
        def __init__(self, source):
            seen["source"] = source

        def pipe(self, format):
            seen["format"] = format
            return b"<svg>drawn</svg>"
    fake = types.SimpleNamespace(Source=Source, ExecutableNotFound=type("ExecutableNotFound", (RuntimeError,), {}))
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    path = viz.render(small_graph(), str(tmp_path / "g.svg"))
    assert open(path, "rb").read() == b"<svg>drawn</svg>"
    assert seen["format"] == "svg" and "ReLU" in seen["source"]
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]         # no temporary file left behind


def test_render_explains_a_missing_dot_program(tmp_path, monkeypatch):
    class Missing(RuntimeError):
        pass

    class Source:
        def __init__(self, source):
            pass

        def pipe(self, format):
            raise Missing("dot not found")
    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Source=Source, ExecutableNotFound=Missing))
    with pytest.raises(RuntimeError, match="`dot` program is not on PATH"):
        viz.render(small_graph(), str(tmp_path / "g.svg"))
    assert not (tmp_path / "g.svg").exists()


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_np\[viz\]'"):
        viz.render(small_graph(), str(tmp_path / "g.svg"))
    assert list(tmp_path.iterdir()) == []


def test_render_rejects_other_formats(tmp_path):
    with pytest.raises(ValueError, match="render: format must be 'svg' or 'png', got 'pdf'"):
        viz.render(small_graph(), str(tmp_path / "g.pdf"), format="pdf")


def _fake_graphviz(monkeypatch, seen):
    class Source:
        def __init__(self, source):
            pass

        def pipe(self, format):
            seen.append(format)
            return b"<svg>drawn</svg>" if format == "svg" else b"\x89PNG\r\n\x1a\n"
    fake = types.SimpleNamespace(Source=Source, ExecutableNotFound=type("ExecutableNotFound", (RuntimeError,), {}))
    monkeypatch.setitem(sys.modules, "graphviz", fake)


def test_render_takes_the_format_from_the_file_name(tmp_path, monkeypatch):
    seen = []
    _fake_graphviz(monkeypatch, seen)
    viz.render(small_graph(), str(tmp_path / "g.png"))                       # no format=: a PNG, not an SVG
    viz.render(small_graph(), str(tmp_path / "G.SVG"))
    assert seen == ["png", "svg"]
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="does not match the file name"):
        viz.render(small_graph(), str(tmp_path / "h.png"), format="svg")
    with pytest.raises(ValueError, match="cannot tell the format"):
        viz.render(small_graph(), str(tmp_path / "graph"))
    viz.render(small_graph(), str(tmp_path / "graph"), format="svg")          # no extension: format= decides
    assert seen == ["png", "svg", "svg"] and not (tmp_path / "h.png").exists()
