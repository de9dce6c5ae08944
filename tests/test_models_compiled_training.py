"""`python -m models train` runs its steps through tg.compile by default: the same numbers as eager, bit for bit.

Every registry model is trained for a few epochs on a small synthetic set twice from one seed — eagerly and
compiled — with its own recipe (SGD, Adam with weight decay, cosine schedule, full batch, a partial last
batch that gets its own trace), and the loss history and every parameter must be *equal*: the compiled
program performs eager's arithmetic in eager's order (docs/compile.md), so no tolerance is needed.
"""
from dataclasses import replace

import numpy as np
import pytest

import tinygrad_np as tg
from models.data import Prepared
from models.progress import Progress
from models.registry import MODELS
from models import training
from models.training import fit, make_step


class _Null:
    def write(self, s):
        pass

    def flush(self):
        pass


def _data(spec, n, seed=0):
    rng = np.random.default_rng(seed)
    k = spec.default_num_outputs
    X = rng.standard_normal((n, *spec.default_input_shape)).astype(np.float32)
    y = rng.integers(0, 2 if spec.head == "sigmoid" else k, n)
    return Prepared(X_train=X, y_train=y, X_val=None, y_val=None, X_test=X[:8], y_test=y[:8], raw_test=X[:8],
                    classes=[str(c) for c in range(max(k, 2))], preprocess=None, source={})


def _train(spec, data, compiled, monkeypatch):
    steps, real_compile = [], tg.compile

    def compile_and_keep(fn):
        steps.append(real_compile(fn))
        return steps[-1]
    monkeypatch.setattr(training.tg, "compile", compile_and_keep)
    tg.manual_seed(spec.recipe.seed)
    model = spec.build()
    history = fit(model, spec, data, Progress(spec.recipe.epochs, 1, bars=False, stream=_Null()), compiled=compiled)
    monkeypatch.undo()
    return history, {k: np.array(v) for k, v in model.state_dict().items()}, steps


# A batch that does not divide the set (a partial last batch retraces); the MLPs' own batch sizes otherwise.
SIZES = {"rabbit_cat_mlp": (45, 16), "catnoncat_deep": (30, None), "cnn_binary": (20, 8), "digits_mlp": (70, 32),
         "mnist_binary": (70, 32), "mnist_mlp": (70, 32), "mnist_cnn": (20, 8)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiled_training_equals_eager_bit_for_bit(name, monkeypatch):
    spec = MODELS[name]
    n, batch = SIZES[name]
    spec = replace(spec, recipe=replace(spec.recipe, epochs=3, batch_size=batch, val_fraction=0.0))
    data = _data(spec, n)
    eager_hist, eager_params, eager_steps = _train(spec, data, False, monkeypatch)
    comp_hist, comp_params, comp_steps = _train(spec, data, True, monkeypatch)
    full, partial = divmod(n, batch or n)
    assert eager_steps == [] and comp_steps[0].traces == 1 + (partial > 0)   # one trace per batch shape, no more
    assert [h["train_loss"] for h in comp_hist] == [h["train_loss"] for h in eager_hist]
    assert [h["train_acc"] for h in comp_hist] == [h["train_acc"] for h in eager_hist]
    for k in eager_params:
        assert np.array_equal(comp_params[k], eager_params[k]), k
    assert comp_hist[-1]["train_loss"] != comp_hist[0]["train_loss"]          # it trained


def test_the_compiled_step_is_the_generated_program():
    spec = MODELS["digits_mlp"]
    tg.manual_seed(0)
    model = spec.build()
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    step = make_step(model, opt, spec.head, compiled=True)
    x = tg.Tensor(np.ones((4, 64), np.float32))
    loss, logits = step(x, tg.Tensor(np.array([0, 1, 2, 3])))
    assert logits.shape == (4, 10) and np.isfinite(loss.item())
    src = step.source()
    assert "np.matmul" in src and "LinearOp" in src                          # the replay is NumPy lines


def test_train_cli_compiles_mlp_steps_by_default_and_eager_gives_the_same_run(tmp_path, capsys):
    import re
    from models.cli import main
    printed = {}
    for flags in ([], ["--eager"]):
        assert main(["train", "digits_mlp", "--epochs", "2", "--out", str(tmp_path / str(len(flags))), *flags]) == 0
        printed[bool(flags)] = capsys.readouterr().out
    assert "; compiled steps (tg.compile)" in printed[False] and "; eager steps" in printed[True]
    epochs = {k: re.sub(r"\(\d+\.\d+ s\)", "", "".join(re.findall(r"epoch \d/2 .*\n", v))) for k, v in printed.items()}
    assert epochs[False] == epochs[True] and "train loss" in epochs[False]      # same losses, to the printed digit


def test_cnns_train_eagerly_by_default_and_compile_on_request():
    from models.training import compiles_by_default
    assert [n for n in sorted(MODELS) if not compiles_by_default(MODELS[n])] == ["mnist_cnn"]
