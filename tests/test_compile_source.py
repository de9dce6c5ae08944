"""tg.compile's generated source: its names and comments, what `models backprop` prints, and the
program and seed tables docs/compile.md quotes of it (checked against the printed program, so the doc
cannot go stale)."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
from compile_helpers import batches, make_step


def test_generated_source_names_and_comments():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.relu1, self.fc2 = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(self.relu1(self.fc1(x)))
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = tg.compile(make_step(model, opt, "ce"))
    x, y = next(batches(1, 8, 4, 3, "ce", np.float32))
    step(x, y)
    src = step.source()
    for needle in ("fc1_weight", "d_fc2_weight", "relu1", "out=", "# LinearOp: dW = Gᵀ X",
                   "np.subtract(fc1_weight, step_fc1_weight, out=fc1_weight)"):
        assert needle in src
    body = [line for line in src.split("def step(")[1].splitlines()[1:-1]
            if line.strip() not in ("try:", "raise Retrace")]
    assert all("  # " in line for line in body if "," in line or "np." in line)   # every op line says its op


def test_models_backprop_prints_the_generated_step(capsys):
    from models.cli import main
    assert main(["backprop", "digits_mlp", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "def train_step(x_tensor, y_tensor):" in out
    assert "np.matmul(d_linear2.T, relu1, out=d_linear2_weight)" in out and "(4, 32)" in out
    assert main(["backprop", "no_such_model"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_docs_compile_md_shows_the_program_models_backprop_prints(capsys):
    from pathlib import Path
    from models.cli import main
    doc = (Path(__file__).resolve().parents[1] / "docs" / "compile.md").read_text()
    listed = doc[doc.index("```python\ndef train_step") + len("```python\n"):]
    listed = listed[:listed.index("```")]
    assert main(["backprop", "digits_mlp", "--batch-size", "32"]) == 0
    printed = capsys.readouterr().out
    assert printed[printed.index("def train_step"):] == listed


@pytest.mark.parametrize("model, batch, heading", [("digits_mlp", "32", "## Seed 003"), ("rabbit_cat_mlp", "64", "## Seed 000")])
def test_docs_compile_md_seed_tables_quote_lines_of_the_printed_program(capsys, model, batch, heading):
    """Every whole `np.…(…)` or `matmul(…)` call the seed tables quote (no "..." in it) is a line of `models backprop`'s
    program, so the tables cannot go stale when an emitter changes (they did once: db's add.reduce)."""
    import re
    from pathlib import Path
    from models.cli import main
    doc = (Path(__file__).resolve().parents[1] / "docs" / "compile.md").read_text()
    section = doc[doc.index(heading):]
    table = section[:section.index("\n\n", section.index("|---|"))]
    quoted = [q for q in re.findall(r"`((?:np\.|matmul\()[^`]*\))`", table) if "..." not in q]
    assert len(quoted) >= 5
    assert main(["backprop", model, "--batch-size", batch]) == 0
    printed = capsys.readouterr().out
    for q in quoted:
        assert q in printed, q
