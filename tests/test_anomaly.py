"""Anomaly mode finds the planted NaN in forward and in backward and names the op, the shapes and the
line of this file that caused it; off, it leaves no trace on the normal path."""
import inspect

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.function import Function


def _line_of(marker):
    src, start = inspect.getsourcelines(inspect.getmodule(_line_of))
    return next(max(start, 1) + i for i, line in enumerate(src) if marker in line and "_line_of" not in line)


def test_forward_nan_names_op_shapes_and_line():
    x = tg.tensor(np.array([[1.0, -1.0, 2.0]]), requires_grad=True)
    with tg.autograd.detect_anomaly():
        y = x * 2                                          # finite: fine
        with pytest.raises(RuntimeError) as e:
            y.sqrt()                                       # PLANTED-FORWARD
    msg = str(e.value)
    assert "Sqrt" in msg and "[(1, 3)]" in msg
    assert f"test_anomaly.py:{_line_of('PLANTED-FORWARD')}: y.sqrt()" in msg


def test_nan_in_already_nan_inputs_is_not_blamed_on_the_next_op():
    with tg.autograd.detect_anomaly():
        x = tg.tensor(np.array([np.nan, 1.0]), requires_grad=True)
        (x * 2).sum()                                      # the NaN came in with the data: no raise


def test_backward_nan_names_op_and_forward_line():
    x = tg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    tg.autograd.set_detect_anomaly(True)
    try:
        loss = x.sqrt().sum()                              # PLANTED-BACKWARD (forward is finite at 0)
        with pytest.raises(RuntimeError) as e:
            loss.backward()
    finally:
        tg.autograd.set_detect_anomaly(False)
    msg = str(e.value)
    assert "Sqrt.backward" in msg and "input 0 (shape (2,))" in msg
    assert f"test_anomaly.py:{_line_of('PLANTED-BACKWARD')}: loss = x.sqrt().sum()" in msg


def test_backward_nan_found_in_create_graph_walk_too():
    x = tg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    with tg.autograd.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(RuntimeError, match="inside the backward of Sqrt created at .*test_anomaly.py"):
            tg.autograd.grad(y, x, create_graph=True)


def test_off_by_default_and_restores_the_plain_path():
    plain_apply, plain_run = Function.__dict__["apply"], tg.autograd.run_node
    assert not tg.autograd.is_anomaly_enabled()
    with tg.autograd.detect_anomaly():
        assert tg.autograd.is_anomaly_enabled()
        assert Function.__dict__["apply"] is not plain_apply
    assert Function.__dict__["apply"] is plain_apply and tg.autograd.run_node is plain_run
    x = tg.tensor(np.array([0.0]), requires_grad=True)
    with np.errstate(divide="ignore"):
        x.log().sum().backward()                           # off: NaN/inf pass silently, as in PyTorch
    assert np.isinf(x.grad.numpy()).all()


def test_decorator_form():
    @tg.autograd.detect_anomaly()
    def bad():
        return tg.tensor(np.array([-1.0]), requires_grad=True).log()
    with pytest.raises(RuntimeError, match="Log turned finite inputs"):
        bad()
    assert not tg.autograd.is_anomaly_enabled()
