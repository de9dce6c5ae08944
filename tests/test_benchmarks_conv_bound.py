"""benchmarks.conv_bound: the rows it measures (tiny timings: values, not speed, are checked here)."""
import pytest

from benchmarks import conv_bound
from tinygrad_np.ops import conv as conv_module


def test_the_two_layers_take_the_paths_the_benchmark_says():
    (n, c, o, k, h, pad), (n2, c2, o2, k2, h2, pad2) = conv_bound.LAYERS.values()
    assert not conv_module.planes_pay(h + 2 * pad, h + 2 * pad - k + 1)        # mnist_cnn's conv2: plain path
    assert conv_module.planes_pay(h2 + 2 * pad2, h2 + 2 * pad2 - k2 + 1)       # the seed's conv2: planes


def test_measure_gives_each_layer_three_times_and_their_paired_ratios():
    pytest.importorskip("torch")
    rows = conv_bound.measure(seconds=0.001, rounds=1)
    assert list(rows) == list(conv_bound.LAYERS)
    for r in rows.values():
        assert all(r[f"{v} ms"] > 0 for v in ("ours", "gemms", "torch"))
        for v in ("ours", "gemms"):                    # one round: the paired ratio is the ratio of the times
            assert r[f"{v}/torch"] == pytest.approx(r[f"{v} ms"] / r["torch ms"], rel=1e-9)


def test_without_torch_it_says_so_and_exits_1(monkeypatch, capsys):
    import builtins
    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__",
                        lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name)) if name == "torch"
                        else real_import(name, *a, **k))
    assert conv_bound.main([]) == 1
    assert "pip install torch==2.13.0" in capsys.readouterr().err
