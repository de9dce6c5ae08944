"""The README's API tour runs as written and does what it claims."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run_and_the_mlp_learns():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    scope: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), scope)
    # the tiny MLP separates the XOR-like quadrants it was trained on
    accuracy = (scope["model"](scope["X"]).argmax(1).numpy() == scope["y"].numpy()).mean()
    assert accuracy > 0.95
    assert scope["loss"].item() < 0.2
    # the custom op's forward is softplus
    x = scope["x"]
    np.testing.assert_allclose(scope["Softplus"].apply(x).numpy(), np.log1p(np.exp(x.numpy())), rtol=1e-12)
