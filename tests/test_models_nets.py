"""Every model: output shapes, gradients of a tiny float64 instance against finite differences, init, and a
short training run on real data whose loss must fall (digits embedded; catvnoncat / MNIST from ../shared/data,
skipped when absent)."""
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

tg = pytest.importorskip("tinygrad_np")
nn = pytest.importorskip("tinygrad_np.nn")
pytest.importorskip("tinygrad_np.optim")

from models import MODELS  # noqa: E402
from models.data import SHARED_DATA, load_source, prepare  # noqa: E402
from models.training import evaluate_arrays, fit, mean_loss, logits_of  # noqa: E402
from models.progress import Progress  # noqa: E402

CONV = {"cnn_binary", "mnist_cnn"}
# (input_shape, num_outputs, arch) of a tiny instance per model: same code path, few parameters
TINY = {
    "rabbit_cat_mlp": ((9,), 2, {"hidden": (4,)}),
    "catnoncat_deep": ((7,), 1, {"hidden": (5, 4, 3)}),
    "cnn_binary": ((2, 10, 10), 1, {"channels": (2, 3), "hidden": (4, 3)}),
    "digits_mlp": ((6,), 3, {"hidden": (5,)}),
    "mnist_binary": ((6,), 1, {"hidden": (4,)}),
    "mnist_mlp": ((6,), 4, {"hidden": (5,)}),
    "mnist_cnn": ((1, 12, 12), 3, {"channels": (2, 3), "hidden": (4, 3)}),
}
FULL_INPUT = {"rabbit_cat_mlp": (8100,), "catnoncat_deep": (12288,), "cnn_binary": (3, 64, 64),
              "digits_mlp": (64,), "mnist_binary": (784,), "mnist_mlp": (784,), "mnist_cnn": (1, 28, 28)}


def _needs_conv(name):
    if name in CONV and not hasattr(nn, "Conv2d"):
        pytest.skip("tinygrad_np.nn.Conv2d is not available yet")


def _outputs(spec):
    return 1 if spec.head == "sigmoid" else (10 if spec.data.kind in ("digits", "mnist") else 2)


@pytest.mark.parametrize("name", list(MODELS))
def test_full_size_forward_backward_shapes(name):
    _needs_conv(name)
    spec = MODELS[name]
    tg.manual_seed(0)
    k = _outputs(spec)
    model = spec.build(input_shape=FULL_INPUT[name], num_outputs=k, **spec.arch)
    x = tg.randn(3, *FULL_INPUT[name])
    out = model(x)
    assert out.shape == (3, k) and out.dtype == np.float32
    out.sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert np.all(np.isfinite(p.grad.numpy())), pname
    assert dict(model.state_dict()).keys() == {n for n, _ in model.named_parameters()}


def test_seed_architectures_have_the_seed_sizes():
    sizes = {"rabbit_cat_mlp": [(128, 8100), (2, 128)], "digits_mlp": [(32, 64), (10, 32)],
             "catnoncat_deep": [(20, 12288), (7, 20), (5, 7), (1, 5)], "mnist_mlp": [(128, 784), (10, 128)],
             "mnist_binary": [(1, 784)]}
    for name, want in sizes.items():
        spec = MODELS[name]
        model = spec.build(input_shape=FULL_INPUT[name], num_outputs=_outputs(spec), **spec.arch)
        got = [tuple(p.shape) for n, p in model.named_parameters() if n.endswith("weight")]
        assert got == want, name


def _functional_loss(model, names, head):
    """fn(x, target, *params) running `model` with the given parameter tensors (float64 gradcheck)."""
    mods = dict(model.named_modules())

    def fn(x, target, *params):
        saved = []
        for name, p in zip(names, params):
            owner, _, attr = name.rpartition(".")
            m = mods[owner]
            saved.append((m, attr, m._parameters[attr]))
            m._parameters[attr] = p
        try:
            z = model(x)
        finally:
            for m, attr, old in saved:
                m._parameters[attr] = old
        if head == "sigmoid":
            return nn.functional.binary_cross_entropy_with_logits(z, target)
        return nn.functional.cross_entropy(z, target)
    return fn


@pytest.mark.parametrize("name", list(MODELS))
def test_tiny_instance_gradients_match_finite_differences(name):
    """Loss gradients w.r.t. every parameter and the input, float64, central differences.

    Tolerances are gradcheck's defaults (atol 1e-5, rtol 1e-3): with eps = 1e-6 in float64 the
    truncation error is ~1e-12 and the rounding error ~1e-10 relative, far below them."""
    _needs_conv(name)
    spec = MODELS[name]
    shape, k, arch = TINY[name]
    tg.manual_seed(1)
    model = spec.build(input_shape=shape, num_outputs=k, **arch).to(np.float64)
    rng = np.random.default_rng(2)
    x = tg.Tensor(rng.standard_normal((3, *shape)), requires_grad=True)
    target = (tg.Tensor(rng.integers(0, 2, (3, 1)).astype(np.float64)) if spec.head == "sigmoid"
              else tg.Tensor(rng.integers(0, k, 3)))
    names = [n for n, _ in model.named_parameters()]
    # a generic point: zero-initialised biases behind a dead ReLU layer would put units exactly on the kink
    params = [tg.Tensor(p.numpy() + 0.1 * rng.standard_normal(p.shape), requires_grad=True)
              for _, p in model.named_parameters()]
    assert tg.gradcheck(_functional_loss(model, names, spec.head), [x, target, *params])


def test_gradcheck_helper_can_fail():
    """The check above is not vacuous: a wrong backward through the same helper is caught."""
    class BadReLU(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.maximum(x, 0)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (x > 0) * 1.5

    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return BadReLU.apply(self.fc(x))

    tg.manual_seed(0)
    model = Bad().to(np.float64)
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    names = [n for n, _ in model.named_parameters()]
    # biases of +2 keep the units active, so the wrong factor shows (a dead unit would hide it)
    params = [tg.Tensor(p.numpy() + (2.0 if n.endswith("bias") else 0.0), requires_grad=True)
              for n, p in model.named_parameters()]
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(_functional_loss(model, names, "softmax"), [x, tg.Tensor(np.array([0, 1, 1])), *params])


def test_seed_initialisations():
    tg.manual_seed(0)
    deep = MODELS["catnoncat_deep"].build(input_shape=(12288,), num_outputs=1, hidden=(20, 7, 5))
    w = deep[0].weight.numpy()
    assert w.std() == pytest.approx(1 / math.sqrt(12288), rel=0.05)       # randn / sqrt(fan_in)
    assert np.all(deep[0].bias.numpy() == 0)
    if hasattr(nn, "Conv2d"):
        cnn = MODELS["cnn_binary"].build(input_shape=(3, 64, 64), num_outputs=1, **MODELS["cnn_binary"].arch)
        w = cnn[3].weight.numpy()                                          # conv 16 -> 32, fan_in 144
        assert w.std() == pytest.approx(math.sqrt(2 / 144), rel=0.1)       # He: N(0, 2/fan_in)


def _short_fit(spec, data, epochs, seed=0):
    spec = replace(spec, recipe=replace(spec.recipe, epochs=epochs, seed=seed))
    tg.manual_seed(seed)
    k = 1 if spec.head == "sigmoid" else len(data.classes)
    model = spec.build(input_shape=data.X_train.shape[1:], num_outputs=k, **spec.arch)
    z0 = logits_of(model, data.X_train)
    before = mean_loss(z0, data.y_train, spec.head)
    history = fit(model, spec, data, Progress(epochs, 1, bars=False, stream=_Null()))
    after = mean_loss(logits_of(model, data.X_train), data.y_train, spec.head)
    return model, before, after, history


class _Null:
    def write(self, s):
        pass

    def flush(self):
        pass


def _subset(data, n_train, n_test=None, seed=0):
    rng = np.random.default_rng(seed)
    i = rng.permutation(len(data.y_train))[:n_train]
    data.X_train, data.y_train = data.X_train[i], data.y_train[i]
    if n_test is not None:
        j = rng.permutation(len(data.y_test))[:n_test]
        data.X_test, data.y_test, data.raw_test = data.X_test[j], data.y_test[j], data.raw_test[j]
    data.X_val = data.y_val = None
    return data


def test_digits_mlp_reaches_95_percent_on_the_test_split():
    spec = MODELS["digits_mlp"]
    data = prepare(spec, load_source(spec))
    assert (len(data.y_train), len(data.y_test)) == (1437, 360)     # the seed's 80/20 split sizes
    model, before, after, _ = _short_fit(spec, data, epochs=min(spec.recipe.epochs, 40))
    assert after < before / 5
    _, acc = evaluate_arrays(model, data.X_test, data.y_test, spec.head)
    assert acc >= 0.95, acc


CATS = SHARED_DATA / "catvnoncat"
MNIST = SHARED_DATA / "mnist"


@pytest.mark.skipif(not CATS.is_dir(), reason="catvnoncat not found in ../shared/data")
@pytest.mark.parametrize("name,epochs,n", [("rabbit_cat_mlp", 8, 120), ("catnoncat_deep", 60, 209),
                                           ("cnn_binary", 3, 64)])
def test_catvnoncat_models_learn(name, epochs, n):
    _needs_conv(name)
    spec = MODELS[name]
    data = _subset(prepare(spec, load_source(spec, str(CATS))), n, 10)
    assert data.classes == ["noncat", "cat"]
    _, before, after, history = _short_fit(spec, data, epochs)
    assert after < before - 0.04, (before, after)        # 60 steps of the seed's slow full-batch GD: ~0.06
    assert all(np.isfinite(h["train_loss"]) for h in history)


@pytest.mark.skipif(not MNIST.is_dir(), reason="MNIST not found in ../shared/data")
@pytest.mark.parametrize("name,n,epochs", [("mnist_binary", 1000, 2), ("mnist_mlp", 2000, 2), ("mnist_cnn", 1000, 3)])
def test_mnist_models_learn(name, n, epochs):
    _needs_conv(name)
    spec = MODELS[name]
    data = _subset(prepare(spec, load_source(spec, str(MNIST))), n, 500)
    model, before, after, _ = _short_fit(spec, data, epochs)
    assert after < 0.5 * before, (before, after)
    _, acc = evaluate_arrays(model, data.X_test, data.y_test, spec.head)
    assert acc > 0.8, acc                         # labels and probabilities line up (class 1 = sigmoid > 0.5)
