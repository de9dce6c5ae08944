"""datasets.load_image_folder / load_image_splits / prefix_labels on catvnoncat and on folders made here."""
import hashlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datasets import decode_image, load_image_folder, load_image_splits, prefix_labels  # noqa: E402


def _catvnoncat():
    for cand in (os.environ.get("TINYGRAD_NP_SHARED_DATA"), REPO.parent / "shared" / "data"):
        if cand and (Path(cand) / "catvnoncat" / "train" / "cat").is_dir():
            return Path(cand) / "catvnoncat"
    return None


CATS = _catvnoncat()
RED, GREEN, BLUE, GRAY = (200, 10, 10), (10, 200, 10), (10, 10, 200), 90


def _png(path: Path, color, size=(12, 10), mode="RGB"):
    """Solid image; size is Pillow's (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    """root/a: 3 red images + 1 grayscale; root/b: 2 green; plus 3 unreadable files. 10x12 (h x w)."""
    root = tmp_path / "photos"
    for i in range(3):
        _png(root / "a" / f"red{i}.png", RED)
    _png(root / "a" / "gray.png", GRAY, mode="L")
    _png(root / "b" / "green0.png", GREEN)
    _png(root / "b" / "sub" / "green1.jpg", GREEN)  # nested folders count for their class
    good = _png(tmp_path / "x.png", BLUE).read_bytes()
    (root / "b" / "corrupt.png").write_bytes(good[: len(good) // 2])  # truncated PNG
    (root / "a" / "empty.png").write_bytes(b"")
    (root / "b" / "notes.png").write_text("this is text, not a picture")
    (root / ".hidden").mkdir()
    _png(root / ".hidden" / "ignored.png", BLUE)
    (root / "README.txt").write_text("files directly in root are not in a class")
    return root


def _load_quiet(*args, **kwargs):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ds = load_image_folder(*args, **kwargs)
    return ds, [str(x.message) for x in w]


# ---------------------------------------------------------------- real catvnoncat
@pytest.mark.skipif(CATS is None, reason="shared/data/catvnoncat not found beside the checkout")
def test_catvnoncat_splits_match_readme():
    d = load_image_splits(CATS, classes=("noncat", "cat"))  # original labels: 0 non-cat, 1 cat
    tr, te = d["train"], d["test"]
    assert tr.images.shape == (209, 64, 64, 3) and te.images.shape == (50, 64, 64, 3)
    assert tr.images.dtype == np.uint8 and tr.labels.dtype == np.int64
    assert tr.classes == ["noncat", "cat"] and np.bincount(tr.labels).tolist() == [137, 72]
    assert np.bincount(te.labels).tolist() == [17, 33]
    assert round(float(tr.images.mean()), 3) == 103.007 and round(float(te.images.mean()), 3) == 107.372
    # exact pixels and labels: rebuild file (= original index) order, compare with the README's sha256
    for ds, digest in ((tr, "f19135472731081e70474f7c5ee3ce3d87911a74cc4fb4304cac932037506996"),
                       (te, "cc71f43ca60bb555ad8f09e4126400c8dedbb6a4fed536b9724b5f89f7dcf048")):
        order = np.argsort([Path(f).name for f in ds.files])
        blob = ds.images[order].tobytes() + ds.labels[order].astype(np.int64).tobytes()
        assert hashlib.sha256(blob).hexdigest() == digest


@pytest.mark.skipif(CATS is None, reason="shared/data/catvnoncat not found beside the checkout")
def test_catvnoncat_default_sorted_classes_gray_resized():
    ds = load_image_folder(CATS / "test", size=(32, 16), mode="L")
    assert ds.classes == ["cat", "noncat"] and np.bincount(ds.labels).tolist() == [33, 17]
    assert ds.images.shape == (50, 32, 16)
    X, y, classes = ds  # unpacks
    assert X is ds.images and classes == ["cat", "noncat"]


# ---------------------------------------------------------------- folders made here
def test_folder_skips_bad_files_with_one_warning(folder):
    ds, msgs = _load_quiet(folder)
    assert len(msgs) == 1
    msg = msgs[0]
    assert "skipped 3 of 9 files" in msg
    for name in ("b/corrupt.png", "a/empty.png", "b/notes.png"):
        assert name in msg
    assert sorted(s for s, _ in ds.skipped) == ["a/empty.png", "b/corrupt.png", "b/notes.png"]
    assert ds.classes == ["a", "b"]
    assert ds.images.shape == (6, 10, 12, 3) and ds.images.dtype == np.uint8
    assert ds.files == ["a/gray.png", "a/red0.png", "a/red1.png", "a/red2.png", "b/green0.png",
                        "b/sub/green1.jpg"]
    assert ds.labels.tolist() == [0, 0, 0, 0, 1, 1]
    # never mislabelled: each image's colour says its class
    assert ds.images[0].tolist() == np.full((10, 12, 3), GRAY).tolist()  # grayscale -> 3 equal channels
    assert np.all(ds.images[1:4] == RED)
    assert np.all(np.abs(ds.images[4:].astype(int) - GREEN) <= 3)  # jpeg is lossy


def test_folder_grayscale_and_resize(folder):
    ds, _ = _load_quiet(folder, size=(5, 7), mode="L")
    assert ds.images.shape == (6, 5, 7)
    assert ds.images[0].min() == GRAY == ds.images[0].max()
    red_l = round((299 * RED[0] + 587 * RED[1] + 114 * RED[2]) / 1000)
    assert abs(int(ds.images[1, 2, 3]) - red_l) <= 1
    ds, _ = _load_quiet(folder, size=4)
    assert ds.images.shape == (6, 4, 4, 3)


def test_exif_orientation_applied(tmp_path):
    # stored 20 wide x 10 high: left half red, right half blue; EXIF 6 = "rotate 90 deg clockwise to view"
    im = Image.new("RGB", (20, 10), RED)
    im.paste(Image.new("RGB", (10, 10), BLUE), (10, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo" / "x" / "rotated.jpg"
    path.parent.mkdir(parents=True)
    im.save(path, exif=exif, quality=95)
    a = decode_image(path)
    assert a.shape == (20, 10, 3)  # now 10 wide x 20 high
    assert np.all(np.abs(a[2, 5].astype(int) - RED) < 30)  # left half went to the top
    assert np.all(np.abs(a[17, 5].astype(int) - BLUE) < 30)
    ds = load_image_folder(tmp_path / "photo", min_classes=1)
    assert ds.images.shape == (1, 20, 10, 3) and np.array_equal(ds.images[0], a)


def test_prefix_labels_longest_first():
    f = prefix_labels(("cat", "noncat"))
    assert f("cat12.png") == "cat" and f("noncat3.jpg") == "noncat" and f("Cat.PNG") == "cat"
    assert f("dog.png") is None
    assert prefix_labels(("non", "noncat"))("noncat1.png") == "noncat"
    assert prefix_labels(("non", "noncat"))("nonsense.png") == "non"
    assert prefix_labels(("Cat",), case_sensitive=True)("cat.png") is None
    with pytest.raises(ValueError, match="duplicate"):
        prefix_labels(("cat", "CAT"))
    with pytest.raises(TypeError, match="single string"):
        prefix_labels("cat")


def test_prefix_labelled_folder(tmp_path):
    root = tmp_path / "catnoncat" / "train"
    _png(root / "cat1.png", RED)
    _png(root / "cat2.png", RED)
    _png(root / "noncat1.png", GREEN)
    _png(root / "noncat2.jpg", GREEN)
    _png(root / "dog.png", BLUE)  # no prefix: silently left out
    ds, msgs = _load_quiet(root, labels=prefix_labels(("noncat", "cat")), classes=("noncat", "cat"))
    assert msgs == []
    assert ds.files == ["cat1.png", "cat2.png", "noncat1.png", "noncat2.jpg"]
    assert ds.labels.tolist() == [1, 1, 0, 0]
    assert np.all(ds.images[:2] == RED) and np.all(np.abs(ds.images[2:].astype(int) - GREEN) <= 3)
    ds = load_image_folder(root, labels=lambda name: "cat" if name.startswith("cat") else None, min_classes=1)
    assert ds.classes == ["cat"] and len(ds) == 2
    with pytest.raises(TypeError, match=r"labels\('cat1.png'\) returned 3"):
        load_image_folder(root, labels=lambda name: 3)


def test_splits_share_classes(tmp_path):
    _png(tmp_path / "train" / "a" / "1.png", RED)
    _png(tmp_path / "train" / "b" / "1.png", GREEN)
    _png(tmp_path / "test" / "b" / "1.png", GREEN)
    _png(tmp_path / "test" / "c" / "1.png", BLUE)
    with pytest.raises(ValueError, match=r"no files for classes \['c'\] in .*train"):
        load_image_splits(tmp_path)
    _png(tmp_path / "train" / "c" / "1.png", BLUE)
    _png(tmp_path / "test" / "a" / "1.png", RED)
    d = load_image_splits(tmp_path)
    assert d["train"].classes == d["test"].classes == ["a", "b", "c"]
    assert d["test"].labels.tolist() == [0, 1, 2] and np.all(d["test"].images[2] == BLUE)


# ---------------------------------------------------------------- cache
def test_cache_hit_does_not_decode_and_invalidates(folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first, msgs = _load_quiet(folder, size=(8, 8), cache=cache)
    assert len(msgs) == 1
    files = list(cache.glob("*.npz"))
    assert len(files) == 1
    assert sorted(p.name for p in folder.rglob("*") if p.suffix == ".npz") == []  # nothing written into root

    def no_decoding(*a, **k):
        raise AssertionError("cache hit must not decode images")

    monkeypatch.setattr(Image, "open", no_decoding)
    second, msgs = _load_quiet(folder, size=(8, 8), cache=cache)
    assert np.array_equal(first.images, second.images) and np.array_equal(first.labels, second.labels)
    assert second.classes == ["a", "b"] and second.files == first.files and second.skipped == first.skipped
    assert len(msgs) == 1 and "skipped 3" in msgs[0]  # the warning is repeated from the cache
    monkeypatch.undo()

    # change one file (content and mtime): the cache must not be used
    target = folder / "a" / "red0.png"
    Image.new("RGB", (12, 10), BLUE).save(target)
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    third, _ = _load_quiet(folder, size=(8, 8), cache=cache)
    assert np.all(third.images[third.files.index("a/red0.png")] == BLUE)
    assert len(list(cache.glob("*.npz"))) == 1  # the stale entry was replaced
    # a different setting is a different cache entry
    gray, _ = _load_quiet(folder, size=(8, 8), mode="L", cache=cache)
    assert gray.images.shape == (6, 8, 8) and len(list(cache.glob("*.npz"))) == 2


def test_cache_default_folder_respects_xdg(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _load_quiet(folder, cache=True)
    assert len(list((tmp_path / "xdg" / "tinygrad_np" / "images").glob("images-*.npz"))) == 1


def test_damaged_cache_is_rebuilt(folder, tmp_path):
    cache = tmp_path / "c"
    ds, _ = _load_quiet(folder, cache=cache)
    entry = next(cache.glob("*.npz"))
    entry.write_bytes(b"garbage")
    again, _ = _load_quiet(folder, cache=cache)
    assert np.array_equal(again.images, ds.images)


def test_cache_inside_root_refused(folder):
    with pytest.raises(ValueError, match="cache folder .* is inside the image folder"):
        load_image_folder(folder, cache=folder / "cache")


# ---------------------------------------------------------------- bad input
def test_bad_input_errors(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match="missing-dir does not exist"):
        load_image_folder(tmp_path / "missing-dir")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="file.png is a file, expected a folder"):
        load_image_folder(tmp_path / "file.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty has no class sub-folders"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "hollow" / "a").mkdir(parents=True)
    (tmp_path / "hollow" / "b").mkdir(parents=True)
    with pytest.raises(ValueError, match="no image files found in .*hollow"):
        load_image_folder(tmp_path / "hollow")
    _png(tmp_path / "one" / "only" / "x.png", RED)
    with pytest.raises(ValueError, match=r"one has 1 class \['only'\], a classifier needs at least 2"):
        load_image_folder(tmp_path / "one")
    assert len(load_image_folder(tmp_path / "one", min_classes=1)) == 1
    with pytest.raises(ValueError, match=r"size must be positive, got \(height, width\) = \(0, 8\)"):
        load_image_folder(folder, size=(0, 8))
    with pytest.raises(ValueError, match="size must be positive"):
        load_image_folder(folder, size=0)
    with pytest.raises(ValueError, match="size must be"):
        load_image_folder(folder, size=(8, 8, 3))
    with pytest.raises(ValueError, match="mode must be 'L'.*got 'RGBA'"):
        load_image_folder(folder, mode="RGBA")
    with pytest.raises(ValueError, match="labels must be 'folders' or a callable"):
        load_image_folder(folder, labels="filenames")
    with pytest.raises(ValueError, match=r"no files for classes \['zzz'\]"):
        load_image_folder(folder, classes=("a", "zzz"))
    _png(tmp_path / "flat" / "cat1.png", RED)
    with pytest.raises(ValueError, match="has 1 files directly inside: pass labels=prefix_labels"):
        load_image_folder(tmp_path / "flat")


def test_all_unreadable_and_mixed_sizes(tmp_path):
    for c in ("a", "b"):
        (tmp_path / "bad" / c).mkdir(parents=True)
        (tmp_path / "bad" / c / "x.png").write_text("nope")
    with pytest.warns(UserWarning, match="skipped 2 of 2"):
        with pytest.raises(ValueError, match="none of the 2 files in .*bad could be read"):
            load_image_folder(tmp_path / "bad")
    _png(tmp_path / "mixed" / "a" / "1.png", RED, size=(8, 8))
    _png(tmp_path / "mixed" / "b" / "2.png", RED, size=(9, 8))
    with pytest.raises(ValueError, match=r"images differ in size: a/1.png is 8x8 but b/2.png is 9x8.*pass size="):
        load_image_folder(tmp_path / "mixed")
    assert load_image_folder(tmp_path / "mixed", size=(8, 8)).images.shape == (2, 8, 8, 3)
