"""Each architecture is written down once: the registry entry, built by models/nets.py, is what `train` trains,
what the benchmarks time in tinygrad_np and PyTorch, and what the hand-written baseline's weights are shaped by."""
import importlib.util
import math

import numpy as np
import pytest

tg = pytest.importorskip("tinygrad_np")
nn = pytest.importorskip("tinygrad_np.nn")

from benchmarks import specs  # noqa: E402
from benchmarks.train import make_trainer  # noqa: E402
from models import MODELS  # noqa: E402
from models.data import SHARED_DATA, load_source, prepare  # noqa: E402

MLPS = ["rabbit_cat_mlp", "catnoncat_deep", "digits_mlp", "mnist_binary", "mnist_mlp"]


def _shapes(model):
    return {k: tuple(np.asarray(v).shape) for k, v in model.state_dict().items()}


def test_the_fully_connected_models_share_one_builder_and_no_file_repeats_it():
    assert sorted(name for name, spec in MODELS.items() if spec.net == "mlp") == sorted(MLPS)
    for name in MODELS:
        assert importlib.util.find_spec(f"models.{name}") is None, f"models/{name}.py repeats nets.py"


@pytest.mark.parametrize("name", MLPS)
def test_registry_mlp_state_dict_follows_the_registry_sizes(name):
    spec = MODELS[name]
    sizes = [math.prod(spec.default_input_shape), *spec.arch["hidden"], spec.default_num_outputs]
    want = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        want[f"{2 * i}.weight"], want[f"{2 * i}.bias"] = (fan_out, fan_in), (fan_out,)
    tg.manual_seed(0)
    model = spec.build()
    assert list(model.state_dict()) == list(want) and _shapes(model) == want
    weights = [shape for key, shape in want.items() if key.endswith("weight")]
    assert [layer.weight_shape for layer in spec.plan() if layer.weight_shape] == weights


def test_build_defaults_are_the_default_data_and_the_registry_arch():
    """`spec.build()` equals the explicit call `train` makes on the default data, weight for weight."""
    for spec in MODELS.values():
        tg.manual_seed(5)
        implicit = spec.build().state_dict()
        tg.manual_seed(5)
        explicit = spec.build(input_shape=spec.default_input_shape, num_outputs=spec.default_num_outputs,
                              **spec.arch).state_dict()
        assert list(implicit) == list(explicit)
        for k in implicit:
            np.testing.assert_array_equal(np.asarray(implicit[k]), np.asarray(explicit[k]), err_msg=f"{spec.name} {k}")


def _default_data_dir(spec):
    """None for the embedded digits, else the shared copy of the model's default data set."""
    if spec.data.kind == "digits":
        return None
    return SHARED_DATA / {"images": "catvnoncat", "mnist": "mnist"}[spec.data.kind]


@pytest.mark.parametrize("name", list(MODELS))
def test_default_input_shape_and_outputs_are_what_the_data_gives(name):
    spec = MODELS[name]
    folder = _default_data_dir(spec)
    if folder is not None and not folder.is_dir():
        pytest.skip(f"the default data of {name} is not in {SHARED_DATA}")
    data = prepare(spec, load_source(spec, None if folder is None else str(folder)))
    assert data.X_train.shape[1:] == spec.default_input_shape
    assert (1 if spec.head == "sigmoid" else len(data.classes)) == spec.default_num_outputs


@pytest.mark.parametrize("bench", specs.MODELS, ids=lambda b: b.name)
def test_benchmark_tinygrad_model_is_the_models_one(bench):
    """Same seed, same parameters, name by name, value by value; the hand baseline's weights have the same
    names and shapes, and the benchmark's trainer holds exactly that model."""
    spec = MODELS.get(bench.name, specs.TINY_MLP)
    tg.manual_seed(11)
    ours = bench.build(nn).state_dict()
    tg.manual_seed(11)
    theirs = spec.build().state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        np.testing.assert_array_equal(np.asarray(ours[k]), np.asarray(theirs[k]), err_msg=f"{bench.name} {k}")
    hand = specs.make_params(bench)
    assert {k: v.shape for k, v in hand.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    assert _shapes(make_trainer("tinygrad_np", bench.name, bench.batches[0]).model) == _shapes(spec.build())


def test_tiny_mlp_is_the_digits_mlp_at_half_width():
    digits = MODELS["digits_mlp"]
    assert specs.TINY_MLP.arch == {"hidden": (16,)} and digits.arch == {"hidden": (32,)}
    assert (specs.TINY_MLP.net, specs.TINY_MLP.head, specs.TINY_MLP.data) == (digits.net, digits.head, digits.data)


@pytest.mark.parametrize("name", list(MODELS))
def test_torch_builds_the_same_names_and_shapes(name):
    torch = pytest.importorskip("torch")
    spec = MODELS[name]
    tg.manual_seed(0)
    ours = spec.build()
    theirs = spec.build(nn=torch.nn)
    assert list(theirs.state_dict()) == list(ours.state_dict())
    assert _shapes(theirs) == _shapes(ours)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
