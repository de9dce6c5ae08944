"""Threads: grad mode is per thread and concurrent backward into shared leaves loses nothing (PyTorch)."""
import sys
import threading

import numpy as np

import tinygrad_np as tg


def _run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_no_grad_in_one_thread_does_not_stop_another_from_recording():
    inside, go_on, seen = threading.Event(), threading.Event(), {}

    def quiet():
        with tg.no_grad():
            inside.set()
            go_on.wait(5)
            seen["quiet"] = tg.is_grad_enabled()

    def busy():
        inside.wait(5)
        x = tg.ones(2, requires_grad=True)
        seen["busy"] = (tg.is_grad_enabled(), (x * 2).requires_grad)
        go_on.set()

    _run([threading.Thread(target=quiet), threading.Thread(target=busy)])
    assert seen == {"quiet": False, "busy": (True, True)}
    assert tg.is_grad_enabled()


def test_a_new_thread_starts_with_grad_enabled_even_inside_no_grad():
    seen = []
    with tg.no_grad():
        t = threading.Thread(target=lambda: seen.append((tg.is_grad_enabled(),
                                                         (tg.ones(1, requires_grad=True) + 1).requires_grad)))
        _run([t])
        assert not tg.is_grad_enabled()
    assert seen == [(True, True)] and tg.is_grad_enabled()


def test_interleaved_enter_and_exit_in_two_threads_restore_each_threads_mode():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    after = {}

    def a():
        with tg.no_grad():
            a_in.set()
            b_in.wait(5)
        a_out.set()
        after["a"] = tg.is_grad_enabled()

    def b():
        a_in.wait(5)
        with tg.no_grad():
            b_in.set()
            a_out.wait(5)
            after["b_inside"] = tg.is_grad_enabled()
        after["b"] = tg.is_grad_enabled()

    _run([threading.Thread(target=a), threading.Thread(target=b)])
    assert after == {"a": True, "b_inside": False, "b": True}
    assert tg.is_grad_enabled() and (tg.ones(1, requires_grad=True) * 3).requires_grad


def test_concurrent_backward_into_a_shared_leaf_is_exact():
    w = tg.ones(8, requires_grad=True)
    x = tg.tensor(np.arange(8.0, dtype=np.float32))
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)           # switch threads as often as possible: a race shows at once

    def work():
        for _ in range(300):
            (w * x).sum().backward()

    try:
        _run([threading.Thread(target=work) for _ in range(4)])
    finally:
        sys.setswitchinterval(old)
    np.testing.assert_array_equal(w.grad.numpy(), 1200 * np.arange(8.0, dtype=np.float32))
