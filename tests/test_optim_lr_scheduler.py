"""Schedulers against their closed forms and PyTorch's sequences; state dicts."""
import math

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
from tinygrad_np.optim.lr_scheduler import CosineAnnealingLR, StepLR


def make_opt(lr=0.1):
    return optim.SGD([nn.Parameter(np.zeros(2))], lr=lr, momentum=0.9)


def lrs(sched, n):
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr_closed_form():
    sched = StepLR(make_opt(0.1), step_size=3, gamma=0.5)
    got = lrs(sched, 10)
    np.testing.assert_allclose(got, [0.1 * 0.5 ** (t // 3) for t in range(11)], rtol=1e-15)
    assert sched.optimizer.param_groups[0]["lr"] == got[-1] and sched.last_epoch == 10


def test_cosine_closed_form_including_past_t_max():
    base, lo, T = 0.1, 0.001, 5
    got = lrs(CosineAnnealingLR(make_opt(base), T_max=T, eta_min=lo), 3 * T)
    want = [lo + (base - lo) * (1 + math.cos(math.pi * t / T)) / 2 for t in range(3 * T + 1)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("make", [lambda o, m: m.StepLR(o, step_size=2, gamma=0.3),
                                  lambda o, m: m.CosineAnnealingLR(o, T_max=4, eta_min=0.01)])
def test_same_sequence_as_torch(make):
    torch = pytest.importorskip("torch")
    ours = make(make_opt(0.2), optim.lr_scheduler)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.2, momentum=0.9)
    theirs = make(topt, torch.optim.lr_scheduler)
    want = [theirs.get_last_lr()[0]]
    for _ in range(12):
        topt.step()
        theirs.step()
        want.append(theirs.get_last_lr()[0])
    np.testing.assert_allclose(lrs(ours, 12), want, rtol=1e-14)


def test_scheduler_state_dict_round_trip(tmp_path):
    sched = CosineAnnealingLR(make_opt(), T_max=10)
    lrs(sched, 4)
    tg.save(sched.state_dict(), tmp_path / "sched.npz")
    fresh = CosineAnnealingLR(make_opt(), T_max=10)
    fresh.load_state_dict(tg.load(tmp_path / "sched.npz"))
    fresh.optimizer.param_groups[0]["lr"] = sched.optimizer.param_groups[0]["lr"]
    np.testing.assert_allclose(lrs(fresh, 3), lrs(sched, 3), rtol=1e-15)
    with pytest.raises(ValueError, match="unexpected keys"):
        fresh.load_state_dict({"bogus": 1})


def test_scheduler_errors():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        StepLR(make_opt(), step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be a positive integer"):
        CosineAnnealingLR(make_opt(), T_max=-1)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(make_opt(), step_size=2, last_epoch=3)
    for bad in (2.0, True, "3", None):
        with pytest.raises(ValueError, match=f"^StepLR: step_size must be a positive integer, got {bad!r}$"):
            StepLR(make_opt(), step_size=bad)
        with pytest.raises(ValueError, match=f"^CosineAnnealingLR: T_max must be a positive integer, got {bad!r}$"):
            CosineAnnealingLR(make_opt(), T_max=bad)
    step, cosine = StepLR(make_opt(), step_size=np.int64(2)), CosineAnnealingLR(make_opt(), T_max=np.int64(4))
    assert type(step.step_size) is int and type(cosine.T_max) is int     # plain ints: the state dict stays plain
