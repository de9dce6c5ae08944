"""Thread control: tg.set_num_threads / get_num_threads (PyTorch's contract), the chunk pool, the split
matrix product, BLAS pinned to one thread, that no thread count changes a convolution's or a pool's
result, and the --threads flag and the loaded-machine benchmark's pieces.

Tolerances: a split product computes each output element with the same BLAS kernel over the same K,
so row/column blocks agree with the whole product to float32 rounding (rtol 1e-5 covers a different
blocking inside BLAS). Convolution gradients under several threads differ from one thread only in the
order the per-thread partial sums of dW and db are added: float64 rounding, far below rtol 1e-12.
"""
import contextlib
import threading
import time

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import threads
from tinygrad_np.nn.functional import conv2d
from tinygrad_np.testing import arrays, conv_geometries, distinct_arrays, pool_geometries


@pytest.fixture
def num_threads():
    """Restore the thread count after each test; meanwhile every op is big enough to be split."""
    old = tg.get_num_threads()
    with small_work_splits():
        yield
    tg.set_num_threads(old)


@contextlib.contextmanager
def small_work_splits():
    """Let the tests' small ops take the parallel paths (thresholds 0, one sample per chunk)."""
    from tinygrad_np.ops import conv as conv_module, pool as pool_module
    saved = (threads.PARALLEL_FLOPS, threads.PARALLEL_BYTES, conv_module.CHUNK_BYTES, pool_module.POOL_CHUNK_BYTES)
    threads.PARALLEL_FLOPS = threads.PARALLEL_BYTES = conv_module.CHUNK_BYTES = pool_module.POOL_CHUNK_BYTES = 0
    try:
        yield
    finally:
        (threads.PARALLEL_FLOPS, threads.PARALLEL_BYTES, conv_module.CHUNK_BYTES,
         pool_module.POOL_CHUNK_BYTES) = saved


def test_set_and_get_num_threads(num_threads):
    tg.set_num_threads(3)
    assert tg.get_num_threads() == 3
    tg.set_num_threads(np.int64(1))
    assert tg.get_num_threads() == 1 and type(tg.get_num_threads()) is int


@pytest.mark.parametrize("bad, match", [(0, "positive integer"), (-2, "positive integer"),
                                        (2.5, "expects an int, but got float"), (True, "got bool"),
                                        ("2", "got str")])
def test_set_num_threads_rejects_what_pytorch_rejects(num_threads, bad, match):
    before = tg.get_num_threads()
    with pytest.raises(RuntimeError, match=match):
        tg.set_num_threads(bad)
    assert tg.get_num_threads() == before


def test_errors_match_pytorch_types():
    torch = pytest.importorskip("torch")
    for bad in (0, 2.5):
        with pytest.raises(RuntimeError):
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError):
            tg.set_num_threads(bad)


def test_default_is_the_environment_or_the_usable_cores(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads._env_threads() == 3
    for text in ("0", "", "two", "-1"):
        monkeypatch.setenv("OMP_NUM_THREADS", text)
        assert threads._env_threads() is None
    assert 1 <= threads._usable_cores()


def test_run_chunks_runs_every_chunk_once_on_several_threads(num_threads):
    tg.set_num_threads(3)
    seen, idents, slots = [], set(), set()
    lock = threading.Lock()

    def chunk(i, slot):
        time.sleep(0.005)                   # long enough that the helpers get chunks too
        with lock:
            seen.append(i)
            idents.add(threading.get_ident())
            slots.add(slot)
    threads.run_chunks(chunk, 12)
    assert sorted(seen) == list(range(12))
    assert slots <= {0, 1, 2} and len(idents) == len(slots) >= 2


def test_run_chunks_single_thread_runs_in_order_in_the_caller(num_threads):
    tg.set_num_threads(1)
    seen = []
    threads.run_chunks(lambda i, slot: seen.append((i, slot, threading.get_ident())), 4)
    assert seen == [(i, 0, threading.get_ident()) for i in range(4)]


def test_run_chunks_raises_a_chunks_error_after_all_finished(num_threads):
    tg.set_num_threads(2)
    done = []

    def chunk(i, slot):
        if i == 1:
            raise ValueError("chunk 1 failed")
        time.sleep(0.002)
        done.append(i)
    with pytest.raises(ValueError, match="chunk 1 failed"):
        threads.run_chunks(chunk, 6)
    assert 1 not in done


def test_nested_run_chunks_runs_serially_inside_a_chunk(num_threads):
    tg.set_num_threads(2)
    inner = []

    def outer(i, slot):
        me = threading.get_ident()
        threads.run_chunks(lambda j, s: inner.append((i, j, s, threading.get_ident() == me)), 3)
    threads.run_chunks(outer, 4)
    assert sorted(x[:2] for x in inner) == [(i, j) for i in range(4) for j in range(3)]
    assert all(s == 0 and same for _, _, s, same in inner)       # no deadlock, no foreign thread


@pytest.mark.parametrize("shape_a, shape_b", [((300, 200), (200, 64)),    # tall: row blocks
                                              ((40, 300), (300, 500)),    # wide: column blocks
                                              ((3, 4), (4, 5))])          # small: one BLAS call
def test_split_matmul_equals_the_product(num_threads, shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a, dtype=np.float32)
    b = rng.standard_normal(shape_b, dtype=np.float32)
    tg.set_num_threads(2)
    out = threads.matmul(a, b)
    assert out.dtype == np.float32 and out.shape == (shape_a[0], shape_b[1])
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(threads.matmul(a.T.copy().T, b), out, rtol=1e-5, atol=1e-5)   # strided views


def test_blas_is_pinned_to_one_thread_by_a_matmul():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    threads.set_blas_threads(2)
    (tg.randn(4, 4) @ tg.randn(4, 4)).sum()
    blas = threadpoolctl.threadpool_info()
    assert all(lib["num_threads"] == 1 for lib in blas if lib["user_api"] == "blas")


def test_a_convolution_pins_blas_again_after_threadpool_limits_raised_it(num_threads):
    """threadpool_limits (user code, a benchmark) sets BLAS behind our back: inside a conv's chunks BLAS must
    be back at one thread, or two pool threads run two-thread GEMMs each on two cores."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    tg.set_num_threads(2)
    (tg.randn(4, 4) @ tg.randn(4, 4)).sum()                # BLAS pinned to 1: the cache says so
    seen = []
    real = threads.np.matmul

    def spy(*args, **kwargs):
        seen.extend(lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas")
        return real(*args, **kwargs)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert any(lib["num_threads"] == 2 for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas")
        x, w = tg.randn(2, 3, 8, 8, requires_grad=True), tg.randn(4, 3, 3, 3)
        with pytest.MonkeyPatch.context() as mp:
            from tinygrad_np.ops import conv as conv_module
            mp.setattr(conv_module.np, "matmul", spy)
            conv2d(x, w).sum().backward()
    assert seen and set(seen) == {1}


def _conv_run(geo, x, w, b, g):
    ts = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    out = conv2d(*ts, stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"], groups=geo["groups"])
    out.backward(g)
    return [out.numpy()] + [t.grad.numpy() for t in ts]


@given(conv_geometries(max_batch=5), st.data())
def test_conv_results_do_not_depend_on_the_thread_count(geo, data):
    x = data.draw(arrays((geo["N"], geo["C_in"], geo["H"], geo["W"])), label="x")
    w = data.draw(arrays((geo["C_out"], geo["C_in"] // geo["groups"]) + geo["kernel"]), label="w")
    b = data.draw(arrays((geo["C_out"],)), label="b")
    old = tg.get_num_threads()
    try:
        tg.set_num_threads(1)
        out = conv2d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), stride=geo["stride"], padding=geo["padding"],
                     dilation=geo["dilation"], groups=geo["groups"])
        g = np.cos(np.arange(out.numpy().size)).reshape(out.shape)
        reference = _conv_run(geo, x, w, b, g)
        for n in (2, 3):
            tg.set_num_threads(n)
            with small_work_splits():
                results = _conv_run(geo, x, w, b, g)
            for got, want in zip(results, reference):
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    finally:
        tg.set_num_threads(old)


# ---- the --threads flags and the loaded-machine benchmark ----------------------------------------
def test_models_cli_threads_flag_sets_the_thread_count(num_threads, tmp_path, capsys):
    from models import cli
    tg.set_num_threads(2)
    assert cli.main(["evaluate", str(tmp_path / "no_such_run"), "--threads", "1"]) == 2   # a user error, no traceback
    assert tg.get_num_threads() == 1
    with pytest.raises(SystemExit):
        cli.main(["train", "digits_mlp", "--threads", "0"])
    assert "--threads: must be a finite number > 0" in capsys.readouterr().err


def test_load_starts_and_kills_one_spinning_process_each():
    import os
    from benchmarks.loaded import Load
    with Load(2) as load:
        pids = [p.pid for p in load.procs]
        assert len(pids) == 2 and all(p.poll() is None for p in load.procs)      # running
        procs = list(load.procs)
    assert all(p.returncode is not None for p in procs)                          # killed and reaped
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_loaded_items_and_table():
    from benchmarks import loaded
    assert loaded.items(["loaded", "cnn_binary"]) == [("cnn_binary", 32)]
    assert loaded.items(["loaded", "digits_mlp/32", "train"]) == [("digits_mlp", 32)]
    assert loaded.items(["loaded"]) == loaded.items(["train", "layers"]) == loaded.items(None)
    assert len(loaded.items(None)) > 1
    t = lambda ms: {"median": ms / 1e3}                                          # noqa: E731
    r = {"name": "cnn_binary", "batch": 32, "errors": {},
         "quiet": {"hand@1": t(10), "tinygrad_np@1": t(10), "hand@2": t(6), "tinygrad_np@2": t(6)},
         "loaded": {"hand@1": t(20), "tinygrad_np@1": t(20), "hand@2": t(300), "tinygrad_np@2": t(30)},
         "loaded/quiet": {"hand@1": {"value": 2.0, "min": 2.0, "max": 2.0},
                          "tinygrad_np@1": {"value": 2.0, "min": 2.0, "max": 2.0},
                          "hand@2": {"value": 50.0, "min": 40.0, "max": 60.0},
                          "tinygrad_np@2": {"value": 5.0, "min": 5.0, "max": 5.0}},
         "loaded/loaded@1": {"hand@2": {"value": 15.0}, "tinygrad_np@2": {"value": 1.5}}}
    text = "\n".join(loaded.markdown({"threads": [1, 2], "load_processes": 2, "unavailable": {}, "results": [r]}))
    assert "PyTorch" not in text                                                 # no torch worker: no column
    assert "| cnn_binary | 32 | 2 | 6 → 300 ms: 50.00× [40.00–60.00] | 6 → 30 ms: 5.00× [5.00–5.00] | 1.50× (MISSED) |" \
        in text


@given(st.data(), st.sampled_from(["max", "avg"]))
def test_pool_results_do_not_depend_on_the_thread_count(data, kind):
    """Pools never add across samples, so chunked results are bitwise those of one thread."""
    from tinygrad_np.nn.functional import avg_pool2d, max_pool2d
    geo = data.draw(pool_geometries(max_batch=5, max_dilation=2 if kind == "max" else 1), label="geo")
    x = data.draw(distinct_arrays((geo["N"], geo["C"], geo["H"], geo["W"])), label="x")
    kw = dict(kernel_size=geo["kernel"], stride=geo["stride"], padding=geo["padding"], ceil_mode=geo["ceil_mode"])
    fn = (lambda t: max_pool2d(t, dilation=geo["dilation"], **kw)) if kind == "max" else (lambda t: avg_pool2d(t, **kw))
    old = tg.get_num_threads()
    results = []
    try:
        for n in (1, 3):
            tg.set_num_threads(n)
            with small_work_splits():
                t = tg.Tensor(x, requires_grad=True)
                out = fn(t)
                out.backward(np.cos(np.arange(out.numpy().size)).reshape(out.shape))
            results.append((out.numpy(), t.grad.numpy()))
    finally:
        tg.set_num_threads(old)
    for got, want in zip(results[1], results[0]):
        np.testing.assert_array_equal(got, want)


def test_conv_chunks_running_at_once_do_not_share_buffers(num_threads, monkeypatch):
    """Both chunks' columns are built before either is multiplied (a barrier after im2col), so a
    buffer shared between threads would give a wrong result every time, not only on an unlucky one."""
    from tinygrad_np.ops import conv as conv_module
    barrier = threading.Barrier(2)
    real = conv_module.im2col

    def im2col_then_wait(*args, **kwargs):
        cols = real(*args, **kwargs)
        try:
            barrier.wait(timeout=2.0)
        except threading.BrokenBarrierError:
            pass
        return cols
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    g = rng.standard_normal((2, 4, 4, 4))
    geo = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1)
    tg.set_num_threads(1)
    reference = _conv_run(geo, x, w, b, g)
    tg.set_num_threads(2)
    monkeypatch.setattr(conv_module, "im2col", im2col_then_wait)
    for got, want in zip(_conv_run(geo, x, w, b, g), reference):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not barrier.broken                     # the two chunks really ran at the same time


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_working_pool(num_threads):
    import os
    tg.set_num_threads(2)
    threads.run_chunks(lambda i, s: None, 4)                 # the parent's pool exists now
    pid = os.fork()
    if pid == 0:                                             # child: its pool must be new and working
        try:
            slots = set()
            threads.run_chunks(lambda i, s: (time.sleep(0.005), slots.add(s)), 8)
            os._exit(0 if slots == {0, 1} else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
