"""Hostile files (issue 13): bombs, pipes, lying headers, garbage, deep nesting, symlinks — each a clear
error or a named skip, bounded in time and memory, never a hang or a bare traceback."""
import gzip
import json
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest
from PIL import Image

import tinygrad_np as tg
from datasets import images
from datasets.idx import read_idx

fifo_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")


def test_read_idx_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    p = tmp_path / "bomb.gz"
    header = b"\x00\x00\x08\x01" + (4).to_bytes(4, "big")
    p.write_bytes(gzip.compress(header + bytes(64 << 20), compresslevel=1))   # 64 MB of zeros, ~300 KB on disk
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"bomb.gz has at least 1048576 extra bytes after the 4 ubyte data"):
            read_idx(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20          # the old reader inflated all 64 MB before looking at the header


def test_read_idx_dimension_products_do_not_overflow(tmp_path):
    p = tmp_path / "huge.idx"
    p.write_bytes(b"\x00\x00\x08\x04" + np.array([65536] * 4, ">u4").tobytes() + bytes(10))
    with pytest.raises(ValueError, match=r"huge.idx is truncated: header says 65536x65536x65536x65536 ubyte, "
                                         r"expected 18446744073709551616 data bytes, found 10 bytes"):
        read_idx(p)
    p = tmp_path / "many.idx"
    p.write_bytes(b"\x00\x00\x08\xff" + np.ones(255, ">u4").tobytes() + b"\x01")
    with pytest.raises(ValueError, match=r"many.idx declares 255 dimensions; at most 32"):
        read_idx(p)


def test_read_idx_gzip_header_lying_about_a_huge_size_reads_only_what_is_there(tmp_path):
    p = tmp_path / "liar.gz"
    p.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + np.array([60000, 60000, 60000], ">u4").tobytes() + bytes(7)))
    with pytest.raises(ValueError, match=r"liar.gz is truncated: .* found 7 bytes"):
        read_idx(p)


@fifo_only
@pytest.mark.parametrize("reader, name", [(tg.load, "load"), (read_idx, "read_idx")])
def test_a_fifo_is_refused_not_read(tmp_path, reader, name):
    f = tmp_path / "pipe"
    os.mkfifo(f)
    outcome = []

    def attempt():                      # in a thread: the old code blocked forever opening the pipe
        try:
            reader(f)
        except Exception as e:          # noqa: BLE001 - the test inspects it
            outcome.append(e)
    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():                    # unblock the reader so the thread can end
        with open(f, "wb"):
            pass
        pytest.fail(f"{name} blocked on a FIFO")
    assert isinstance(outcome[0], ValueError) and f"{name}: " in str(outcome[0])
    assert "is not a regular file" in str(outcome[0])


def test_load_garbage_starting_with_pk_is_not_an_npz(tmp_path):
    p = tmp_path / "garbage.npz"
    p.write_bytes(b"PK" + os.urandom(200))
    with pytest.raises(ValueError, match="garbage.npz is not an .npz file"):
        tg.load(p)


def test_load_a_manifest_nested_3000_deep_is_a_clear_error(tmp_path):
    p = tmp_path / "deep.npz"
    tree = '{"list": [' * 3000 + '{"none": null}' + ']}' * 3000
    with zipfile.ZipFile(p, "w") as z:
        with z.open("__tinygrad_np__.npy", "w") as m:
            np.lib.format.write_array(m, np.array('{"format": 1, "tree": ' + tree + '}'))
    with pytest.raises(ValueError, match="deep.npz has a damaged structure description"):
        tg.load(p)


def test_load_state_dict_with_a_ragged_value_names_the_key():
    m = tg.nn.Linear(2, 2)
    before = m.weight.numpy().copy()
    with pytest.raises(RuntimeError, match=r"load_state_dict: wrong shapes \{'weight': not an array"):
        m.load_state_dict({"weight": [[1.0, 2.0], [3.0]], "bias": np.zeros(2, np.float32)})
    with pytest.raises(RuntimeError, match=r"'bias': expected float32, got object"):
        m.load_state_dict({"weight": before, "bias": [None, 1.0]})
    np.testing.assert_array_equal(m.weight.numpy(), before)


def _photo_folder(tmp_path):
    root = tmp_path / "photos"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (8, 8), 40 * i).save(root / cls / f"{i}.png")
    return root


def test_an_image_too_large_is_skipped_from_its_header_without_decoding(tmp_path, monkeypatch):
    root = _photo_folder(tmp_path)
    Image.new("L", (30, 20)).save(root / "a" / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    from PIL import ImageFile
    real_load = ImageFile.ImageFile.load

    def refuse_big(im):
        assert im.size != (30, 20), "decoded the big image"
        return real_load(im)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", refuse_big)
    with pytest.warns(UserWarning, match=r"a/big.png \(ValueError: image is 30x20 \(0 megapixels\), more than"):
        ds = images.load_image_folder(root, size=8, mode="L")
    assert len(ds) == 4 and "a/big.png" not in ds.files


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_out_of_the_folder_and_dangling_ones_are_skipped_by_name(tmp_path):
    root = _photo_folder(tmp_path)
    outside = tmp_path / "secret.png"
    Image.new("L", (8, 8)).save(outside)
    os.symlink(outside, root / "a" / "escape.png")
    os.symlink(tmp_path / "gone.png", root / "b" / "dangling.png")
    os.symlink(root / "a" / "0.png", root / "b" / "inside.png")       # a link within the folder is fine
    with pytest.warns(UserWarning) as record:
        ds = images.load_image_folder(root, mode="L")
    message = str(record[0].message)
    assert "a/escape.png (symbolic link to" in message and "outside the image folder" in message
    assert "b/dangling.png (dangling symbolic link)" in message
    assert sorted(ds.files) == ["a/0.png", "a/1.png", "b/0.png", "b/1.png", "b/inside.png"]
