"""Optimizers and schedulers off the common path: parameter groups added later, several groups with
their own learning rates, resuming a schedule (last_epoch != -1), state dicts holding Tensors, None or
unknown entries, and the errors that name the optimizer. Oracles: closed forms, PyTorch where installed."""
import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
from tinygrad_np.optim.lr_scheduler import CosineAnnealingLR, StepLR


def param(values=(1.0, 2.0)):
    return nn.Parameter(np.array(values))


def test_add_param_group_takes_defaults_and_steps_with_its_own_lr():
    a, b = param(), param()
    opt = optim.SGD([a], lr=0.1, momentum=0.0)
    opt.add_param_group({"params": b, "lr": 1.0})             # a bare Tensor as params
    assert opt.param_groups[1]["momentum"] == 0.0 and opt.param_groups[1]["lr"] == 1.0
    a.grad = tg.Tensor(np.ones(2))
    b.grad = tg.Tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.9, 1.9])
    np.testing.assert_allclose(b.numpy(), [0.0, 1.0])


def test_optimizer_errors_name_the_optimizer():
    p = param()
    with pytest.raises(TypeError, match=r"^Adam: a parameter group must be a dict, got list$"):
        optim.Adam([p]).add_param_group([p])
    with pytest.raises(TypeError, match=r"^RMSprop: can only optimize floating-point tensors, got dtype int64$"):
        optim.RMSprop([tg.tensor([1, 2])])
    with pytest.raises(TypeError, match=r"^AdamW: params must be an iterable of Tensors or of dicts"):
        optim.AdamW({"params": [p]})
    with pytest.raises(ValueError, match=r"^SGD: a parameter \(shape \(2,\)\) appears in more than one place$"):
        optim.SGD([p, p], lr=0.1)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop])
def test_a_broadcast_parameter_is_refused_before_any_update(cls):
    good = param()
    view = np.broadcast_to(np.array([1.0, 2.0]), (3, 2))
    writeable_view = np.lib.stride_tricks.as_strided(np.array([1.0, 2.0]), (3, 2), (0, 8))
    for data, problem in ((view, "is read-only"), (writeable_view, "repeats its elements")):
        bad = nn.Parameter(np.zeros((3, 2)))
        bad._data = data                      # a Parameter whose array is a view (as nn.Parameter(view) keeps)
        opt = cls([good, bad], lr=0.1)
        good.grad, bad.grad = tg.Tensor(np.ones(2)), tg.Tensor(np.ones((3, 2)))
        with pytest.raises(ValueError, match=rf"^{cls.__name__}\.step: cannot update the parameter of shape "
                                             rf"\(3, 2\) in place: its array {problem}"):
            opt.step()
        np.testing.assert_array_equal(good.numpy(), [1.0, 2.0])         # nothing changed
        assert opt.state == {}


def test_state_dict_numbering_follows_the_groups_and_load_accepts_tensors_and_none():
    a, b, c = param(), param(), param()
    opt = optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for p in (a, b, c):
        p.grad = tg.Tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert set(sd["state"]) == {0, 1, 2} and sd["param_groups"][1]["lr"] == 0.5
    sd["state"][1]["momentum_buffer"] = tg.Tensor(np.full(2, 7.0))      # a Tensor is read as its array
    sd["state"][2]["momentum_buffer"] = None
    fresh = optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1, momentum=0.9)
    fresh.load_state_dict(sd)
    np.testing.assert_array_equal(fresh.state[b]["momentum_buffer"], [7.0, 7.0])
    assert fresh.state[c]["momentum_buffer"] is None and fresh.param_groups[1]["lr"] == 0.5
    sd["state"][5] = {"momentum_buffer": np.zeros(2)}
    with pytest.raises(ValueError, match=r"^SGD\.load_state_dict: state for unknown parameter index 5$"):
        fresh.load_state_dict(sd)
    with pytest.raises(ValueError, match=r"expected a dict with 'state' and 'param_groups'"):
        fresh.load_state_dict({"state": {}})


def test_adam_state_dict_keeps_betas_a_tuple_and_step_an_int():
    p = param()
    opt = optim.Adam([p], lr=0.1, betas=(0.8, 0.9))
    p.grad = tg.Tensor(np.ones(2))
    opt.step()
    sd = opt.state_dict()
    sd["param_groups"][0]["betas"] = [0.5, 0.6]                      # as a list, the way a file may give it back
    sd["state"][0]["step"] = np.array(4)
    fresh = optim.Adam([p], lr=0.1)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["betas"] == (0.5, 0.6) and type(fresh.param_groups[0]["betas"]) is tuple
    assert fresh.state[p]["step"] == 4 and type(fresh.state[p]["step"]) is int


def test_repr_lists_each_group():
    opt = optim.SGD([{"params": [param()]}, {"params": [param()], "lr": 0.5}], lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "Parameter Group 1" in text
    assert "    lr: 0.5" in text and text.endswith("\n)")


# ---- schedulers ----------------------------------------------------------------------------------------
def two_group_opt():
    return optim.SGD([{"params": [param()], "lr": 0.1}, {"params": [param()], "lr": 0.4}], lr=0.1)


def test_step_lr_scales_every_group():
    sched = StepLR(two_group_opt(), step_size=2, gamma=0.5)
    seen = [sched.get_last_lr()]
    for _ in range(4):
        sched.step()
        seen.append(sched.get_last_lr())
    assert seen == [[0.1, 0.4], [0.1, 0.4], [0.05, 0.2], [0.05, 0.2], [0.025, 0.1]]


def test_resuming_a_schedule_needs_initial_lr_and_continues_the_closed_form():
    opt = two_group_opt()
    with pytest.raises(KeyError, match=r"CosineAnnealingLR: param 'initial_lr' is not specified in "
                                       r"param_groups\[0\] when resuming \(last_epoch != -1\)"):
        CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.01, last_epoch=3)   # its initial step is epoch 4
    assert sched.last_epoch == 4 and sched.get_last_lr() == [0.1, 0.4]        # which keeps the current lr
    sched.step()                                                                # then PyTorch's recursive form
    ratio = (1 + math.cos(5 * math.pi / 10)) / (1 + math.cos(4 * math.pi / 10))
    np.testing.assert_allclose(sched.get_last_lr(), [ratio * (lr - 0.01) + 0.01 for lr in (0.1, 0.4)], rtol=1e-12)
    resumed = StepLR(two_group_opt_with_initial(), step_size=2, gamma=0.5, last_epoch=1)
    assert resumed.last_epoch == 2 and resumed.get_last_lr() == [0.05, 0.2]


def two_group_opt_with_initial():
    opt = two_group_opt()
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    return opt


def test_resumed_schedule_matches_torch():
    torch = pytest.importorskip("torch")
    ours_opt = two_group_opt_with_initial()
    ours = CosineAnnealingLR(ours_opt, T_max=6, eta_min=0.02, last_epoch=2)
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))]
    topt = torch.optim.SGD([{"params": [params[0]], "lr": 0.1, "initial_lr": 0.1},
                            {"params": [params[1]], "lr": 0.4, "initial_lr": 0.4}], lr=0.1)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=6, eta_min=0.02, last_epoch=2)
    for _ in range(14):
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=1e-12)
        topt.step()
        ours.step()
        theirs.step()


def test_schedulers_need_an_optimizer():
    with pytest.raises(TypeError, match=r"^StepLR: expected an Optimizer, got list$"):
        StepLR([param()], step_size=1)


def test_load_state_dict_needs_both_parts():
    opt = optim.SGD([param()], lr=0.1)
    for bad in ({"param_groups": []}, {"state": {}}, [1, 2]):
        with pytest.raises(ValueError, match=r"^SGD\.load_state_dict: expected a dict with 'state' and 'param_groups'"):
            opt.load_state_dict(bad)


def test_amsgrad_state_uses_pytorchs_name():
    p = param()
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    p.grad = tg.Tensor(np.ones(2))
    opt.step()
    assert set(opt.state_dict()["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    late = optim.Adam([p], lr=0.1)
    p.grad = tg.Tensor(np.ones(2))
    late.step()
    late.param_groups[0]["amsgrad"] = True                   # switched on after the first step
    late.step()
    assert "max_exp_avg_sq" in late.state_dict()["state"][0]


def test_scheduler_state_dict_is_a_copy_both_ways():
    sched = StepLR(two_group_opt(), step_size=2)
    sd = sched.state_dict()
    sd["base_lrs"][0] = 99.0
    assert sched.base_lrs == [0.1, 0.4]
    fresh = StepLR(two_group_opt(), step_size=2)
    given = sched.state_dict()
    fresh.load_state_dict(given)
    given["base_lrs"][0] = 42.0
    assert fresh.base_lrs == [0.1, 0.4]
    fresh.load_state_dict({"base_lrs": (0.3, 0.6)})           # tuples (as a file may give back) become lists
    assert fresh.base_lrs == [0.3, 0.6] and isinstance(fresh.base_lrs, list)


def test_defaults_are_pytorchs():
    p = param()
    assert {k: optim.AdamW([p]).param_groups[0][k] for k in ("lr", "betas", "eps", "weight_decay", "amsgrad")} == \
        {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False}
    assert optim.Adam([p]).param_groups[0]["lr"] == 1e-3 and optim.Adam([p]).param_groups[0]["weight_decay"] == 0
    g = optim.RMSprop([p]).param_groups[0]
    assert (g["lr"], g["alpha"], g["eps"], g["momentum"], g["centered"]) == (1e-2, 0.99, 1e-8, 0, False)


def test_rmsprop_state_names_when_options_are_switched_on_later():
    p = param()
    opt = optim.RMSprop([p], lr=0.01, centered=True)
    p.grad = tg.Tensor(np.ones(2))
    opt.step()
    assert set(opt.state_dict()["state"][0]) == {"step", "square_avg", "grad_avg"}
    opt.param_groups[0]["momentum"] = 0.5
    opt.step()
    assert set(opt.state_dict()["state"][0]) == {"step", "square_avg", "grad_avg", "momentum_buffer"}


def test_loaded_state_takes_the_parameter_dtype():
    p = nn.Parameter(np.ones(2, np.float32))
    opt = optim.Adam([p], lr=0.1)
    p.grad = tg.Tensor(np.ones(2, np.float32))
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = np.full(2, 0.5)                     # float64, as another program may save it
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == np.float32
    np.testing.assert_array_equal(opt.state[p]["exp_avg"], [0.5, 0.5])
