"""models/ plumbing that needs no training: registry, preprocessing, metrics, run folders, progress lines."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from models import MODELS, get_spec
from models.data import _order_classes
from models.preprocess import Preprocess
from models.progress import Progress
from models.report import confusion_matrix, format_report, per_class, summarize
from models.runs import read_meta, reserve_run_dir


def test_registry_has_every_model_with_a_recipe():
    assert list(MODELS) == ["rabbit_cat_mlp", "catnoncat_deep", "cnn_binary", "digits_mlp", "mnist_binary",
                            "mnist_mlp", "mnist_cnn"]
    for spec in MODELS.values():
        assert spec.head in ("softmax", "sigmoid")
        assert spec.recipe.epochs >= 1 and spec.recipe.lr > 0
        assert spec.recipe.optimizer in ("sgd", "adam")
    assert MODELS["catnoncat_deep"].recipe.batch_size is None        # the seed's full-batch gradient descent
    assert MODELS["catnoncat_deep"].recipe.lr == 0.0075


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*digits_mlp"):
        get_spec("resnet")


def test_confusion_and_per_class_metrics_by_hand():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 1, 0, 1, 1, 1])
    cm = confusion_matrix(y, p, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 2, 0], [0, 1, 0]]
    pc = per_class(cm)
    assert pc["precision"] == pytest.approx([1.0, 0.5, 0.0])      # class 2 never predicted: 0, not NaN
    assert pc["recall"] == pytest.approx([2 / 3, 1.0, 0.0])
    assert pc["f1"] == pytest.approx([0.8, 2 / 3, 0.0])
    assert pc["support"] == [3, 2, 1]
    m = summarize(y, p, ["a", "b", "c"], loss=0.5)
    assert m["accuracy"] == pytest.approx(4 / 6) and m["errors"] == 2
    text = format_report(m, ["a", "b", "c"])
    assert "66.67% (4/6)" in text and "precision" in text and "macro" in text


def test_preprocess_statistics_come_from_training_data_and_round_trip():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    pre = Preprocess("image", 255.0, "channel", "nchw", (4, 4), "RGB").fit(train)
    x = pre(train)
    assert x.shape == (20, 3, 4, 4) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=(0, 2, 3)), 1, atol=1e-4)
    again = Preprocess.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again(train[:3]), x[:3])


def test_feature_statistics_leave_constant_pixels_at_zero():
    train = np.zeros((10, 8, 8), np.uint8)
    train[:, 3, 3] = np.arange(10)
    pre = Preprocess("digits", 16.0, "feature").fit(train)
    x = pre(train)
    assert x.shape == (10, 64) and np.all(np.isfinite(x))
    assert np.all(x[:, 0] == 0) and x[:, 27].std() == pytest.approx(1, abs=1e-5)


def test_unfitted_preprocess_refuses():
    with pytest.raises(RuntimeError, match="not fitted"):
        Preprocess("mnist", 255.0, "global")(np.zeros((1, 28, 28), np.uint8))


def test_reading_a_digit_picture_inverts_dark_ink_on_white(tmp_path):
    img = np.full((32, 32), 255, np.uint8)
    img[8:24, 12:20] = 0                                          # a black "1" on white paper
    Image.fromarray(img).save(tmp_path / "one.png")
    raw = Preprocess("digits", 16.0).read(tmp_path / "one.png")
    assert raw.shape == (8, 8) and raw.dtype == np.uint8 and raw.max() <= 16
    assert raw[0, 0] == 0 and raw[4, 3:5].max() >= 12             # background dark, ink bright, as in training
    np.save(tmp_path / "d.npy", np.arange(64).reshape(8, 8) % 17)
    assert Preprocess("digits", 16.0).read(tmp_path / "d.npy")[0, 5] == 5


def test_unreadable_or_wrong_arrays_are_clear_errors(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read .*bad.png as an image"):
        Preprocess("image", 255.0, size=(8, 8), mode="RGB").read(tmp_path / "bad.png")
    np.save(tmp_path / "big.npy", np.full((8, 8), 99))
    with pytest.raises(ValueError, match="outside 0..16"):
        Preprocess("digits", 16.0).read(tmp_path / "big.npy")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        Preprocess("mnist", 255.0).read(tmp_path / "missing.png")


def test_negative_class_goes_first():
    assert _order_classes(["cat", "noncat"]) == ["noncat", "cat"]
    assert _order_classes(["rabbit", "cat"]) == ["cat", "rabbit"]
    assert _order_classes(["dog", "not_dog"]) == ["not_dog", "dog"]


def test_run_folders_are_never_reused(tmp_path):
    first, note = reserve_run_dir(str(tmp_path / "run"), "x")
    assert first == tmp_path / "run" and note is None
    (first / "meta.json").write_text("{}")
    second, note = reserve_run_dir(str(tmp_path / "run"), "x")
    assert second == tmp_path / "run-2" and "already holds a run" in note
    third, _ = reserve_run_dir(str(tmp_path / "run"), "x")
    assert third == tmp_path / "run-3"                            # run-2 is reserved although still empty
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        reserve_run_dir(str(tmp_path / "file"), "x")


def test_read_meta_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_meta(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="meta.json is missing"):
        read_meta(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_meta(tmp_path)


def test_plain_progress_prints_a_line_per_epoch_or_about_25():
    out = io.StringIO()
    p = Progress(epochs=5, steps=3, stream=out, bars=False)
    for e in range(1, 6):
        list(p.batches(range(3), e))
        p.epoch_end(e, f"epoch {e}")
    assert out.getvalue().splitlines() == [f"epoch {e}" for e in range(1, 6)]
    out = io.StringIO()
    p = Progress(epochs=2500, steps=1, stream=out, bars=False)
    for e in range(1, 2501):
        p.epoch_end(e, f"epoch {e}")
    lines = out.getvalue().splitlines()
    assert 20 <= len(lines) <= 30 and lines[0] == "epoch 1" and lines[-1] == "epoch 2500"


def test_probabilities_and_losses_from_logits():
    training = pytest.importorskip("models.training")
    z = np.array([[2.0], [-1.0], [800.0], [-800.0]])
    p = training.probabilities(z, "sigmoid")
    np.testing.assert_allclose(p[:, 1], [1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(1.0)), 1.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(p.sum(1), 1)
    y = np.array([1, 0, 1, 0])
    expected = -np.mean(np.log(np.where(y == 1, p[:, 1], p[:, 0])))
    assert training.mean_loss(z, y, "sigmoid") == pytest.approx(expected, rel=1e-9)
    z = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])
    p = training.probabilities(z, "softmax")
    np.testing.assert_allclose(p[0], np.exp(z[0]) / np.exp(z[0]).sum())
    assert np.all(np.isfinite(p)) and p[1, 0] == 1.0
    assert training.mean_loss(z, np.array([2, 0]), "softmax") == pytest.approx(-np.log(p[0, 2]) / 2)
