"""tg.save / tg.load: exact round trips, atomic writes, clear errors naming the file or key, and the
exit to PyTorch (a state dict saved here loads into the equivalent torch model)."""
import os
import zipfile

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn


def checkpoint():
    return {
        "model": {"0.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "0.bias": tg.Tensor(np.ones(2)),
                  "bn.num_batches_tracked": np.array(7, np.int64), "mask": np.array([True, False]),
                  "pixels": np.zeros((2, 2), np.uint8), "empty": np.zeros((0, 3))},
        "optim": {"state": {0: {"step": 3, "exp_avg": np.full(3, 0.5)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1]}]},
        "epoch": 12, "loss": 0.25, "accuracy": np.float64(0.75), "name": "mlp", "note": None, "history": [1.5, 0.5],
    }


def test_round_trip_keeps_structure_types_and_values(tmp_path):
    path = tmp_path / "ckpt.npz"
    tg.save(checkpoint(), path)
    got = tg.load(path)
    assert set(got) == set(checkpoint())
    for k, v in checkpoint()["model"].items():
        v = v.numpy() if isinstance(v, tg.Tensor) else v
        assert isinstance(got["model"][k], np.ndarray) and got["model"][k].dtype == v.dtype, k
        np.testing.assert_array_equal(got["model"][k], v)
    assert got["model"]["bn.num_batches_tracked"].shape == ()
    state = got["optim"]["state"]
    assert list(state) == [0] and state[0]["step"] == 3 and type(state[0]["step"]) is int
    assert got["optim"]["param_groups"] == [{"lr": 1e-3, "betas": (0.9, 0.999), "amsgrad": False, "params": [0, 1]}]
    assert (got["epoch"], got["loss"], got["accuracy"], got["name"], got["note"], got["history"]) == \
        (12, 0.25, 0.75, "mlp", None, [1.5, 0.5])
    assert type(got["epoch"]) is int and type(got["accuracy"]) is float and type(got["name"]) is str
    assert os.listdir(tmp_path) == ["ckpt.npz"]                       # no temporary file left behind
    with np.load(path) as z:                                          # plain NumPy reads it, '/'-joined keys
        np.testing.assert_array_equal(z["model/0.weight"], checkpoint()["model"]["0.weight"])
        assert z["optim/state/0/exp_avg"].shape == (3,)


def test_a_bare_tensor_and_a_plain_npz_load(tmp_path):
    tg.save(tg.Tensor(np.eye(2)), tmp_path / "t.npz")
    np.testing.assert_array_equal(tg.load(tmp_path / "t.npz"), np.eye(2))
    np.savez(tmp_path / "plain.npz", **{"a/b": np.ones(2), "c": np.zeros(1)})
    got = tg.load(str(tmp_path / "plain.npz"))
    assert set(got) == {"a", "c"} and list(got["a"]) == ["b"]


@pytest.mark.parametrize("obj, error, message", [
    ({"a/b": np.ones(1)}, ValueError, r"save: key 'a/b' at the top level is empty, reserved or contains '/'"),
    ({"m": {("x", 1): np.ones(1)}}, TypeError, r"save: dict keys must be str or int, got \('x', 1\) at 'm'"),
    ({"m": np.array([{}, 1], dtype=object)}, TypeError, "save: the array at 'm' has dtype object"),
    ({"m": {"f": lambda: 0}}, TypeError, "save: cannot store a function at 'm/f'"),
    ({0: 1, "0": 2}, ValueError, "two entries map to the same key '0'"),
])
def test_save_refuses_what_it_cannot_store_and_writes_nothing(tmp_path, obj, error, message):
    with pytest.raises(error, match=message):
        tg.save(obj, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_failure_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    tg.save({"w": np.zeros(1000), "v": np.zeros(3)}, path)
    real = np.lib.format.write_array
    calls = []

    def write_half_then_crash(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"\x93NUMPY partial bytes")
            raise OSError("disk full (simulated)")
        return real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_half_then_crash)
    with pytest.raises(OSError, match="simulated"):
        tg.save({"w": np.ones(1000), "v": np.ones(3)}, path)
    monkeypatch.undo()
    assert len(calls) == 2
    got = tg.load(path)
    np.testing.assert_array_equal(got["w"], np.zeros(1000))
    assert os.listdir(tmp_path) == ["model.npz"]


def test_truncated_files_are_reported_with_their_name(tmp_path):
    path = tmp_path / "weights.npz"
    tg.save({"w": np.arange(1000.0), "b": np.ones(10)}, path)
    data = path.read_bytes()
    for keep in (10, len(data) // 2, len(data) - 30):
        path.write_bytes(data[:keep])
        with pytest.raises(ValueError, match=r"load: .*weights.npz is truncated or corrupt"):
            tg.load(path)


def test_non_npz_object_array_and_missing_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"load: .*notes.npz is not an .npz file"):
        tg.load(text)
    np.save(tmp_path / "single.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"single.npy is not an .npz file.*single .npy array"):
        tg.load(tmp_path / "single.npy")
    np.savez(tmp_path / "pickled.npz", ok=np.ones(2), obj=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"pickled.npz holds an object array at key 'obj'.*never unpickles"):
        tg.load(tmp_path / "pickled.npz")
    with pytest.raises(FileNotFoundError, match=r"load: .*absent.npz does not exist"):
        tg.load(tmp_path / "absent.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as zf:
        zf.writestr("readme.txt", "not an array")
    with pytest.raises(ValueError, match=r"other.npz"):
        tg.load(tmp_path / "other.npz")


def model():
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_model_file_round_trip_and_wrong_files_leave_the_model_unchanged(tmp_path):
    tg.manual_seed(0)
    src = model()
    src(tg.randn(6, 5))                               # move the running statistics
    tg.save(src.state_dict(), tmp_path / "m.npz")
    loaded = tg.load(tmp_path / "m.npz")
    assert "1.num_batches_tracked" in loaded and loaded["1.num_batches_tracked"] == 1
    dst = model()
    dst.load_state_dict(loaded)
    x = tg.randn(4, 5)
    np.testing.assert_array_equal(dst.eval()(x).numpy(), src.eval()(x).numpy())

    before = dst.state_dict()
    wrong = dict(loaded)
    wrong.pop("3.bias")
    wrong["4.weight"] = np.ones(2, np.float32)
    wrong["0.weight"] = wrong["0.weight"].T.copy()
    tg.save(wrong, tmp_path / "wrong.npz")
    with pytest.raises(RuntimeError) as info:
        dst.load_state_dict(tg.load(tmp_path / "wrong.npz"))
    msg = str(info.value)
    assert "missing keys ['3.bias']" in msg and "unexpected keys ['4.weight']" in msg
    assert "'0.weight': expected (8, 5), got (5, 8)" in msg
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_saved_state_dict_loads_into_torch_with_the_same_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    tg.manual_seed(1)
    ours = model()
    for _ in range(3):                                # train-mode passes update BatchNorm's running stats
        ours(tg.randn(16, 5))
    tg.save(ours.state_dict(), tmp_path / "for_torch.npz")
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 3))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in tg.load(tmp_path / "for_torch.npz").items()})
    assert int(theirs[1].num_batches_tracked) == 3
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    expected = ours.eval()(tg.Tensor(x)).numpy()
    np.testing.assert_allclose(theirs.eval()(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    back = model()                                    # and back again: torch's state dict loads here
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(back.eval()(tg.Tensor(x)).numpy(), expected, rtol=1e-6)


def test_saved_file_gets_ordinary_permissions(tmp_path):
    import os
    import stat
    path = tmp_path / "w.npz"
    tg.save({"w": np.ones(2, np.float32)}, path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
