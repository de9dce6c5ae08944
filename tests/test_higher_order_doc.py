"""docs/higher-order.md cannot rot: its python blocks run top to bottom in one namespace, and each ```text
block right after a python block is exactly what that block prints (the runner of test_custom_ops_doc)."""
import contextlib
import io
import linecache
from pathlib import Path

from test_custom_ops_doc import blocks

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "higher-order.md"


def test_guide_has_the_examples_the_issue_asks_for():
    text = GUIDE.read_text()
    for section in ("Hessian-vector product", "gradient penalty", "Newton's method", "u'' = −u", "Hooks",
                    "Anomaly mode", "it says why"):
        assert section in text, section
    found = blocks(GUIDE)
    assert len(found) >= 10 and sum(expected is not None for _, expected in found) >= 10


def test_guide_code_runs_and_prints_what_it_shows():
    namespace = {"__name__": "higher_order_guide"}
    for i, (source, expected) in enumerate(blocks(GUIDE)):
        stdout = io.StringIO()
        name = f"{GUIDE.name} block {i}"
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)   # anomaly mode quotes lines
        with contextlib.redirect_stdout(stdout):
            exec(compile(source, name, "exec"), namespace)
        if expected is not None:
            assert stdout.getvalue() == expected, f"block {i} of {GUIDE.name} printed something else:\n" \
                                                  f"{stdout.getvalue()}"
