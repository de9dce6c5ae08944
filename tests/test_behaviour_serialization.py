"""tg.save / tg.load on the paths the round-trip tests do not take: every kind of key and scalar,
tuples vs lists, a bare array or scalar, plain .npz nesting conflicts, damaged files and folders —
each error checked for its type and for naming the file or key."""
import json
import os
import zipfile

import numpy as np
import pytest

import tinygrad_np as tg


def test_scalars_keys_and_sequences_come_back_as_they_went_in(tmp_path):
    obj = {"b": True, "nb": np.bool_(False), "i": 3, "ni": np.int32(-4), "f": 0.5, "nf": np.float32(0.25),
           "s": "text", "ns": np.str_("np"), 7: "int key", "t": (1, [2, (3,)]), "l": [], "none": None,
           "nested": {"deep": {"x": np.arange(3)}}}
    path = tmp_path / "x.npz"
    tg.save(obj, path)
    got = tg.load(path)
    assert got == {k: v for k, v in obj.items() if k != "nested"} | {"nested": got["nested"]}
    assert type(got["b"]) is bool and type(got["nb"]) is bool and type(got["ni"]) is int
    assert type(got["nf"]) is float and type(got["ns"]) is str and 7 in got and "7" not in got
    assert type(got["t"]) is tuple and type(got["t"][1]) is list and type(got["t"][1][1]) is tuple
    np.testing.assert_array_equal(got["nested"]["deep"]["x"], np.arange(3))
    with np.load(path) as z:
        assert set(z.files) >= {"b", "7", "t/0", "t/1/0", "t/1/1/0", "nested/deep/x"}


@pytest.mark.parametrize("value", [np.arange(4.0), 2.5, 7, "s", [np.ones(2), 3]])
def test_a_bare_value_round_trips(tmp_path, value):
    tg.save(value, tmp_path / "v.npz")
    got = tg.load(tmp_path / "v.npz")
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(got, value)
    elif isinstance(value, list):
        assert isinstance(got, list) and got[1] == 3
        np.testing.assert_array_equal(got[0], np.ones(2))
    else:
        assert got == value and type(got) is type(value)


def test_a_tensor_anywhere_is_stored_as_its_array(tmp_path):
    tg.save({"w": [tg.tensor([1.0, 2.0], requires_grad=True)]}, tmp_path / "t.npz")
    got = tg.load(tmp_path / "t.npz")["w"][0]
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_array_equal(got, [1.0, 2.0])


@pytest.mark.parametrize("obj, error, message", [
    ({True: 1}, TypeError, r"^save: dict keys must be str or int, got True at the top level$"),
    ({"a": {np.bool_(True): 1}}, TypeError, r"^save: dict keys must be str or int, got .*True_? at 'a'$"),
    ({"": 1}, ValueError, r"^save: key '' at the top level is empty, reserved or contains '/'"),
    ({"m": {"__tinygrad_np__": 1}}, ValueError, r"^save: key '__tinygrad_np__' at 'm' is empty, reserved"),
    ({"m": [{"a/b": 1}]}, ValueError, r"^save: key 'a/b' at 'm/0' is empty"),
    ({"big": 2 ** 70}, ValueError, r"^save: the integer at 'big' does not fit in int64$"),
    ({"o": [object()]}, TypeError, r"^save: cannot store a object at 'o/0'; save stores nested dicts"),
    (object(), TypeError, r"^save: cannot store a object at the top level"),
])
def test_save_refuses_with_a_message_naming_the_place(tmp_path, obj, error, message):
    with pytest.raises(error, match=message):
        tg.save(obj, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder_names_it(tmp_path):
    target = tmp_path / "nope" / "x.npz"
    with pytest.raises(FileNotFoundError, match=r"^save: folder .*nope does not exist \(while saving .*x.npz\)$"):
        tg.save({"a": 1}, target)
    assert not (tmp_path / "nope").exists()


def test_load_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"^load: .* is a folder, not an .npz file$"):
        tg.load(tmp_path)


def test_a_plain_npz_nests_on_slashes_and_refuses_conflicts(tmp_path):
    np.savez(tmp_path / "ok.npz", **{"a/b/c": np.ones(1), "a/d": np.zeros(2), "e": np.arange(2)})
    got = tg.load(tmp_path / "ok.npz")
    assert set(got) == {"a", "e"} and set(got["a"]) == {"b", "d"} and list(got["a"]["b"]) == ["c"]
    np.testing.assert_array_equal(got["a"]["b"]["c"], np.ones(1))
    np.savez(tmp_path / "under.npz", **{"a": np.ones(1), "a/b": np.ones(1)})
    with pytest.raises(ValueError, match=r"^load: .*under.npz: key 'a/b' nests under an array$"):
        tg.load(tmp_path / "under.npz")
    np.savez(tmp_path / "both.npz", **{"a/b": np.ones(1), "a": np.ones(1)})
    with pytest.raises(ValueError, match=r"^load: .*both.npz: key 'a' is both an array and a folder of keys$"):
        tg.load(tmp_path / "both.npz")


def _write_npz(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in members.items():
            with zf.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, np.asarray(arr))


@pytest.mark.parametrize("manifest", [
    "not json", json.dumps({"format": 1}), json.dumps({"tree": {"dict": [["a", {"array": "missing"}]]}}),
    json.dumps({"tree": {"weird": 1}}), json.dumps({"tree": {"list": [{"scalar": "a"}, 5]}}),
])
def test_a_damaged_structure_description_is_a_clear_error(tmp_path, manifest):
    """The last case (a list entry that is not an object) escaped as an AttributeError before."""
    path = tmp_path / "bad.npz"
    _write_npz(path, {"a": np.ones(1), "__tinygrad_np__": np.array(manifest)})
    with pytest.raises(ValueError, match=r"^load: .*bad.npz has a damaged structure description"):
        tg.load(path)


def test_a_zip_member_that_is_not_an_array_is_named(tmp_path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"^load: .*odd.npz is a zip file but its member 'readme.txt' is not a "
                                         r"NumPy array; is it really an \.npz file\?$"):
        tg.load(path)


def test_an_npy_file_gets_a_hint(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(2))
    with pytest.raises(ValueError, match=r"\(it is a single .npy array; use np.load\)$"):
        tg.load(tmp_path / "a.npy")
    (tmp_path / "b.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"b.npz is not an .npz file: it does not start with a zip header$"):
        tg.load(tmp_path / "b.npz")


def test_a_corrupt_member_is_reported_as_corrupt_naming_the_file(tmp_path):
    path = tmp_path / "c.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", b"\x93NUMPY\x01\x00garbage")
    with pytest.raises(ValueError, match=r"^load: .*c.npz is truncated or corrupt"):
        tg.load(path)


def test_load_accepts_path_objects_and_strings(tmp_path):
    tg.save({"a": 1}, str(tmp_path / "s.npz"))
    assert tg.load(tmp_path / "s.npz") == {"a": 1} == tg.load(str(tmp_path / "s.npz"))


def test_file_layout_bare_value_member_and_format_version(tmp_path):
    tg.save(np.arange(3.0), tmp_path / "v.npz")
    with np.load(tmp_path / "v.npz") as z:
        assert sorted(z.files) == ["__tinygrad_np__", "value"]
        assert json.loads(str(z["__tinygrad_np__"]))["format"] == 1
    with pytest.raises(TypeError, match=r"save stores nested dicts, lists and tuples of arrays, Tensors, numbers, "
                                        r"strings, bools and None$"):
        tg.save({"f": print}, tmp_path / "x.npz")
