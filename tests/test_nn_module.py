"""Module: registration order and PyTorch's names, traversal, modes, dtype, repr, Sequential, and
load_state_dict's all-at-once error that leaves the model unchanged."""
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.bn = nn.BatchNorm1d(8)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(8, 3))
        self.register_buffer("steps", np.zeros(2))
        self.plain = tg.zeros(3)          # a plain Tensor attribute is not registered

    def forward(self, x):
        return self.body(self.bn(self.fc1(x))) * self.scale


def test_names_and_order_follow_pytorch():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "body.1.weight", "body.1.bias"]
    assert list(net.state_dict()) == [
        "scale", "steps", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
        "bn.num_batches_tracked", "body.1.weight", "body.1.bias"]
    assert [n for n, _ in net.named_children()] == ["fc1", "bn", "body"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "bn", "body", "body.0", "body.1"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert len(list(net.parameters())) == 7 and all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert net.fc1 is net._modules["fc1"] and net.scale is net._parameters["scale"]


def test_torch_gives_the_same_names():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2, bias=False))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 2, bias=False))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours[3].weight = nn.Parameter(np.zeros((2, 8), np.float32))     # replacing keeps the slot; tying shows twice
    theirs[3].weight = torch.nn.Parameter(torch.zeros(2, 8))
    ours[0].bias, theirs[0].bias = ours[1].weight, theirs[1].weight
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_shared_parameters_and_modules_appear_once_and_reassignment_moves_registration():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    net = Net()
    net.fc1 = None                      # a child slot can be emptied
    assert "fc1.weight" not in net.state_dict()
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="cannot assign ndarray as parameter 'scale'"):
        net.scale = np.ones(1)
    net.extra = nn.Parameter(np.zeros(2))
    assert list(dict(net.named_parameters()))[0] == "extra"     # own parameters come before children's
    del net.extra
    assert "extra" not in dict(net.named_parameters())


def test_module_without_super_init_fails_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
    with pytest.raises(AttributeError, match=r"before Module.__init__\(\)"):
        Broken()


def test_train_eval_zero_grad_and_requires_grad():
    net = Net()
    assert net.training and net.body[1].training
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    out = net(tg.randn(5, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_dtype_keeps_parameter_objects_and_integer_buffers():
    net = Net()
    params = list(net.parameters())
    assert net.to(np.float64) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert net.bn.running_mean.dtype == np.float64 and net.bn.num_batches_tracked.dtype == np.int64
    assert net(tg.randn(2, 4, dtype=np.float64)).dtype == np.float64
    assert net.float().fc1.weight.dtype == np.float32
    with pytest.raises(TypeError, match="Module.to"):
        net.to(np.int32)


def test_parameter_is_a_float_tensor():
    p = nn.Parameter(np.zeros((2, 3), np.float32))
    assert isinstance(p, tg.Tensor) and p.requires_grad and p.dtype == np.float32
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(TypeError, match="Parameter: parameters must be floating point"):
        nn.Parameter(np.zeros(3, np.int64))


def test_repr_looks_like_pytorch():
    seq = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Sequential(nn.Linear(128, 10)),
                        nn.BatchNorm1d(10), nn.LogSoftmax(dim=1), nn.Flatten())
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=128, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2, inplace=False)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=128, out_features=10, bias=True)\n"
        "  )\n"
        "  (4): BatchNorm1d(10, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  (5): LogSoftmax(dim=1)\n"
        "  (6): Flatten(start_dim=1, end_dim=-1)\n"
        ")")


def test_sequential_indexing_slicing_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert list(head.state_dict()) == ["0.weight", "0.bias"]
    x = tg.randn(4, 2)
    np.testing.assert_allclose(seq(x).numpy(), layers[2](layers[1](layers[0](x))).numpy())
    with pytest.raises(IndexError, match="Sequential index 3 is out of range for 3 modules"):
        seq[3]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named[1] is named.act
    with pytest.raises(TypeError, match="must be an nn.Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    ml = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 2)])
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"] and len(ml) == 2


def test_state_dict_is_a_snapshot_of_copies():
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    before = sd["weight"].copy()
    lin.weight.numpy()[...] += 1
    np.testing.assert_array_equal(sd["weight"], before)


def test_load_state_dict_accepts_arrays_and_tensors_and_copies_in_place():
    src, dst = Net(), Net()
    params = [p.numpy() for p in dst.parameters()]
    sd = src.state_dict()
    sd["fc1.weight"] = tg.Tensor(sd["fc1.weight"])
    result = dst.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert all(a is p.numpy() for a, p in zip(params, dst.parameters()))     # same arrays: optimizers stay valid


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    net = Net()
    before = net.state_dict()
    sd = net.state_dict()
    del sd["body.1.bias"]
    sd["body.2.weight"] = np.zeros((3, 8), np.float32)
    sd["fc1.weight"] = np.zeros((4, 8), np.float32)                     # transposed
    sd["bn.weight"] = np.zeros(8, np.float64)                            # wrong dtype
    sd["scale"] = np.full(1, 7, np.float32)                              # fine on its own
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("load_state_dict: missing keys ['body.1.bias'], unexpected keys ['body.2.weight']")
    assert "'fc1.weight': expected (8, 4), got (4, 8)" in msg and "'bn.weight': expected float32, got float64" in msg
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_load_state_dict_non_strict_still_checks_shapes():
    net = nn.Sequential(nn.Linear(2, 2))
    sd = {"0.weight": np.ones((2, 2), np.float32), "1.weight": np.ones(3, np.float32)}
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["0.bias"] and res.unexpected_keys == ["1.weight"]
    np.testing.assert_array_equal(net[0].weight.numpy(), np.ones((2, 2)))
    with pytest.raises(RuntimeError, match=r"wrong shapes \{'0.bias': expected \(2,\), got \(3,\)\}"):
        net.load_state_dict({"0.bias": np.ones(3, np.float32)}, strict=False)
