"""python -m models end to end in temp folders: train -> files -> evaluate -> predict, and bad input."""
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

tg = pytest.importorskip("tinygrad_np")
pytest.importorskip("tinygrad_np.nn")
pytest.importorskip("tinygrad_np.optim")

from datasets import load_digits  # noqa: E402
from models.cli import main  # noqa: E402
from models.data import SHARED_DATA  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One short digits_mlp training shared by the tests below (3 epochs, seconds)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "digits_mlp", "--epochs", "3", "--seed", "1", "--out", str(out)]) == 0
    return out


def test_list_runs_from_the_checkout():
    r = subprocess.run([sys.executable, "-m", "models", "list"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    for name in ("rabbit_cat_mlp", "catnoncat_deep", "cnn_binary", "digits_mlp", "mnist_binary", "mnist_mlp",
                 "mnist_cnn"):
        assert name in r.stdout
    assert "lr 0.0075, full batch, 2500 ep" in r.stdout          # the seed's own recipe, shown


def test_train_writes_a_complete_run(digits_run):
    names = {p.name for p in digits_run.iterdir()}
    assert {"weights.npz", "meta.json", "metrics.json"} <= names
    try:
        import matplotlib  # noqa: F401
        assert {"loss.png", "confusion.png", "samples.png"} <= names
        with Image.open(digits_run / "loss.png") as im:
            assert im.size[0] > 100
    except ImportError:
        pass
    meta = json.loads((digits_run / "meta.json").read_text())
    assert meta["model"] == "digits_mlp" and meta["seed"] == 1 and meta["recipe"]["epochs"] == 3
    assert meta["classes"] == [str(i) for i in range(10)]
    assert len(meta["preprocess"]["mean"]) == 64 and meta["data"]["n_test"] == 360
    assert "numpy" in meta["versions"] and 0 < meta["metrics"]["test_accuracy"] <= 1
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    assert np.asarray(metrics["test"]["confusion"]).sum() == 360
    state = tg.load(digits_run / "weights.npz")
    assert {k: np.shape(v) for k, v in state.items()} == {"0.weight": (32, 64), "0.bias": (32,),
                                                           "2.weight": (10, 32), "2.bias": (10,)}


def test_evaluate_reproduces_the_training_accuracy(digits_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(digits_run)]) == 0
    out = capsys.readouterr().out
    meta = json.loads((digits_run / "meta.json").read_text())
    m = re.search(r"test accuracy ([\d.]+)% \((\d+)/360\)", out)
    assert m, out
    assert int(m.group(2)) == round(meta["metrics"]["test_accuracy"] * 360)
    assert "precision" in out and "confusion matrix" in out


def test_predict_classifies_a_png(digits_run, tmp_path, capsys):
    X, y = load_digits()
    img = Image.fromarray((X[10] * 15).astype(np.uint8)).resize((40, 40), Image.Resampling.NEAREST)
    img.save(tmp_path / "digit.png")
    np.save(tmp_path / "digit.npy", X[11])
    capsys.readouterr()
    assert main(["predict", str(digits_run), str(tmp_path / "digit.png"), str(tmp_path / "digit.npy")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        m = re.match(r".*digit\.(png|npy): (\d) \(([\d.]+)%\)", line)
        assert m, line
        assert 0 < float(m.group(3)) <= 100


def test_out_never_overwrites_an_existing_run(digits_run, capsys):
    before = _digest(digits_run)
    assert main(["train", "digits_mlp", "--epochs", "1", "--out", str(digits_run)]) == 0
    out = capsys.readouterr().out
    second = digits_run.with_name(digits_run.name + "-2")
    assert f"writing this one to {second}" in out
    assert (second / "weights.npz").is_file()
    assert _digest(digits_run) == before


def test_unknown_model_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "resnet50"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'resnet50'" in err and "digits_mlp" in err
    assert not (tmp_path / "runs").exists()


def test_a_folder_with_one_class_is_refused(tmp_path, capsys):
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(tmp_path / "photos" / "cat" / f"{i}.png")
    rc = main(["train", "rabbit_cat_mlp", "--data", str(tmp_path / "photos"), "--out", str(tmp_path / "run")])
    assert rc == 2
    assert "1 class ['cat']" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_photo_folder_lists_the_ways_to_provide_data(tmp_path, capsys):
    assert main(["train", "cnn_binary", "--data", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_unreadable_image_at_predict_time(digits_run, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    capsys.readouterr()
    assert main(["predict", str(digits_run), str(tmp_path / "broken.png")]) == 2
    captured = capsys.readouterr()
    assert "cannot read" in captured.err and "broken.png" in captured.err
    assert captured.out == ""


def test_weights_that_do_not_match_the_architecture(digits_run, tmp_path, capsys):
    run = tmp_path / "edited"
    shutil.copytree(digits_run, run)
    meta = json.loads((run / "meta.json").read_text())
    meta["architecture"]["kwargs"]["hidden"] = [16]
    (run / "meta.json").write_text(json.dumps(meta))
    before = _digest(run)
    for cmd in (["evaluate", str(run)], ["predict", str(run), str(run / "confusion.png")]):
        capsys.readouterr()
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert "weights.npz does not match the architecture" in err
        assert "0.weight: file (32, 64) vs model (16, 64)" in err
    assert _digest(run) == before


def test_bad_flags_are_argparse_errors(capsys):
    for argv in (["train", "digits_mlp", "--epochs", "0"], ["train", "digits_mlp", "--optimizer", "lbfgs"],
                 ["train", "digits_mlp", "--hidden", "a,b"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert main(["train", "digits_mlp", "--data", "somewhere"]) == 2
    assert "--data is not used" in capsys.readouterr().err


CATS = SHARED_DATA / "catvnoncat"


@pytest.mark.skipif(not CATS.is_dir(), reason="catvnoncat not found in ../shared/data")
def test_photo_model_end_to_end_on_a_copied_folder(tmp_path, capsys):
    """A user-style photo folder (class sub-folders, no train/test split): trained, evaluated, used."""
    photos = tmp_path / "photos"
    for cls in ("cat", "noncat"):
        (photos / cls).mkdir(parents=True)
        for p in sorted((CATS / "train" / cls).glob("*.png"))[:10]:
            shutil.copy(p, photos / cls / p.name)
    out = tmp_path / "run"
    assert main(["train", "catnoncat_deep", "--data", str(photos), "--epochs", "5", "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["classes"] == ["noncat", "cat"] and meta["data"]["n_test"] == 4      # 20 % of 20, stratified
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert f"({round(meta['metrics']['test_accuracy'] * 4)}/4)" in capsys.readouterr().out
    picture = next((photos / "cat").iterdir())
    assert main(["predict", str(out), str(picture)]) == 0
    assert re.search(r": (cat|noncat) \(\d+\.\d%\)", capsys.readouterr().out)


def test_the_readme_command_with_no_arguments(tmp_path, monkeypatch, capsys):
    """`python -m models train digits_mlp`: default recipe, default run folder runs/digits_mlp, offline."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TINYGRAD_NP_DATA", str(tmp_path / "no-data-here"))     # the digits need none
    assert main(["train", "digits_mlp"]) == 0
    meta = json.loads((tmp_path / "runs" / "digits_mlp" / "meta.json").read_text())
    assert meta["recipe"]["epochs"] == 100 and meta["metrics"]["test_accuracy"] >= 0.95
    assert meta["metrics"]["total_seconds"] < 120


def test_without_any_photo_data_the_error_lists_the_ways_to_provide_it(tmp_path, monkeypatch, capsys):
    import models.data
    monkeypatch.setattr(models.data, "SHARED_DATA", tmp_path / "shared" / "data")   # as on a user's machine
    monkeypatch.delenv("TINYGRAD_NP_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "catnoncat_deep"]) == 2
    err = capsys.readouterr().err
    assert "--data DIR" in err and "TINYGRAD_NP_DATA" in err and "catvnoncat" in err
    assert not (tmp_path / "runs").exists()
