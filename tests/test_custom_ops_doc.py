"""docs/custom-ops.md cannot rot: its python blocks run top to bottom in one namespace (their asserts
included), and each ```text block right after a python block is exactly what that block prints."""
import contextlib
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "custom-ops.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def blocks(guide=GUIDE):
    """[(python source, expected output or None)] in the guide's order (docs/higher-order.md uses it too)."""
    text = guide.read_text()
    found = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(text)]
    out = []
    for i, (lang, body, _, end) in enumerate(found):
        if lang != "python":
            continue
        nxt = found[i + 1] if i + 1 < len(found) else None
        expected = nxt[1] if nxt and nxt[0] == "text" and not text[end:nxt[2]].strip() else None
        out.append((body, expected))
    return out


def test_guide_has_examples_with_checked_output():
    found = blocks()
    assert len(found) >= 6, "the guide lost its examples"
    assert sum(expected is not None for _, expected in found) >= 5


def test_guide_code_runs_and_prints_what_it_shows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                   # the graph example may write mlp_graph.svg
    namespace = {"__name__": "custom_ops_guide"}
    for i, (source, expected) in enumerate(blocks()):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(source, f"{GUIDE.name} block {i}", "exec"), namespace)
        if expected is not None:
            assert stdout.getvalue() == expected, f"block {i} of {GUIDE.name} printed something else"
    # what the guide claims about the objects it built
    tg = namespace["tg"]
    assert namespace["y"].dtype == "float32" and namespace["x"].dtype == "float64"
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(namespace["BadSoftplus"].apply, [namespace["x"]])
    with pytest.raises(RuntimeError, match="freed"):
        namespace["viz"].to_dot(namespace["loss"])


def test_the_guide_picture_exists_and_shows_the_mlp_graph():
    svg = (GUIDE.parent / "images" / "mlp_graph.svg").read_text()
    assert "<svg" in svg
    for label in ("CrossEntropy", "ReLU", "Linear", "parameter 0.weight", "parameter 2.bias", "(2, 4) float32"):
        assert label in svg, label


def test_the_strategies_the_guide_names_exist():
    from tinygrad_np import testing
    section = GUIDE.read_text().split("## 3.")[1].split("## 4.")[0]
    named = set(re.findall(r"`(\w+)\(", section))
    assert {"arrays", "positive_arrays", "distinct_arrays", "broadcastable_shapes"} <= named
    assert [n for n in sorted(named) if not hasattr(testing, n)] == []
    assert (testing.GRAD_ATOL, testing.GRAD_RTOL, testing.EPS) == (1e-6, 1e-5, 1e-6)   # quoted in the guide
