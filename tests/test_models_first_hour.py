"""A new user's first hour with python -m models (issue 18) and a CLI without tracebacks (issue 13, item 9):
checkpoints and --resume to the same bits, Ctrl-C, write failures, damaged meta.json, flags, predict on
folders, the runs API, and MNIST/Fashion-MNIST told apart by checksum."""
import errno
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

tg = pytest.importorskip("tinygrad_np")

import datasets  # noqa: E402
import models  # noqa: E402
import models.cli as cli  # noqa: E402
import models.runs  # noqa: E402
import models.training  # noqa: E402
from datasets import load_digits, write_idx  # noqa: E402
from models.cli import main  # noqa: E402
from models.data import SHARED_DATA  # noqa: E402
from models.preprocess import Preprocess, mnist_centre  # noqa: E402

TRAIN = ["train", "digits_mlp", "--epochs", "4", "--seed", "3"]


def _weights(run: Path) -> dict:
    return {k: np.asarray(v) for k, v in tg.load(run / "weights.npz").items()}


def _history(run: Path) -> list:
    rows = json.loads((run / "metrics.json").read_text())["history"]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _interrupt_at_epoch(monkeypatch, epoch: int):
    """Ctrl-C in the middle of `epoch` (on its first batch)."""
    real = models.training.Progress.batches

    def batches(self, it, e):
        if e == epoch:
            raise KeyboardInterrupt
        return real(self, it, e)
    monkeypatch.setattr(models.training.Progress, "batches", batches)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted 4-epoch run every resume is compared with."""
    out = tmp_path_factory.mktemp("straight") / "run"
    assert main(TRAIN + ["--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("extra", [[], ["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05"]],
                         ids=["adam-cosine-wd", "sgd-momentum"])
@pytest.mark.parametrize("seconds", [0.0, 1e9], ids=["every-epoch", "only-on-ctrl-c"])
def test_ctrl_c_then_resume_gives_the_same_weights(tmp_path, monkeypatch, capsys, straight, extra, seconds):
    ref = straight
    if extra:
        ref = tmp_path / "straight"
        assert main(TRAIN + extra + ["--out", str(ref)]) == 0
    monkeypatch.setattr(cli, "CHECKPOINT_SECONDS", seconds)
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        _interrupt_at_epoch(m, 3)
        capsys.readouterr()
        assert main(TRAIN + extra + ["--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert f"keeps epoch 2; continue with: python -m models train --resume {run}" in err
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]          # the folder survives Ctrl-C
    assert main(["train", "--resume", str(run)]) == 0
    assert "resuming after epoch 2/4" in capsys.readouterr().out
    a, b = _weights(ref), _weights(run)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)      # bit for bit
    assert _history(ref) == _history(run)
    meta = json.loads((run / "meta.json").read_text())
    assert meta["metrics"]["test_accuracy"] == json.loads((ref / "meta.json").read_text())["metrics"]["test_accuracy"]


def test_ctrl_c_in_the_first_epoch_keeps_nothing(tmp_path, monkeypatch, capsys):
    _interrupt_at_epoch(monkeypatch, 1)
    assert main(TRAIN + ["--out", str(tmp_path / "run")]) == 130
    assert "nothing was kept" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resume_refuses_flags_finished_runs_and_folders_without_a_checkpoint(straight, tmp_path, capsys):
    assert main(["train", "--resume", str(straight), "--epochs", "9"]) == 2
    assert "leave out epochs" in capsys.readouterr().err
    assert main(["train", "--resume", str(straight)]) == 2
    assert "this run is complete (4 epochs)" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "there is no checkpoint.npz" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "name a model" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["meta.json", "weights.npz"])
def test_a_write_failure_is_one_line_and_leaves_nothing_half_written(tmp_path, monkeypatch, capsys, target):
    real_json, real_save = models.runs.write_json, tg.save

    def full_disk(real, path_arg):
        def write(*args):
            if Path(args[path_arg]).name == target:       # a full disk's OSError often carries no file name
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(*args)
        return write
    monkeypatch.setattr(models.runs, "write_json", full_disk(real_json, 0))    # write_json(path, obj)
    monkeypatch.setattr(tg, "save", full_disk(real_save, 1))                   # tg.save(obj, path)
    run = tmp_path / "run"
    assert main(TRAIN + ["--out", str(run)]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if "error:" in x]
    assert len(line) == 1 and "No space left on device" in line[0] and f"cannot write {run / target}" in line[0]
    assert "Traceback" not in err and "--resume" in err
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.npz"]    # no weights without their meta.json
    monkeypatch.setattr(models.runs, "write_json", real_json)
    monkeypatch.setattr(tg, "save", real_save)
    assert main(["train", "--resume", str(run)]) == 0                     # the disk has room again: finish it
    assert {"weights.npz", "meta.json", "metrics.json"} <= {p.name for p in run.iterdir()}


def test_a_checkpoint_that_cannot_be_written_stops_with_one_line(tmp_path, monkeypatch, capsys):
    real_save = tg.save

    def quota(obj, path):
        if Path(path).name == "checkpoint.npz":
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        return real_save(obj, path)
    monkeypatch.setattr(tg, "save", quota)
    monkeypatch.setattr(cli, "CHECKPOINT_SECONDS", 0.0)
    run = tmp_path / "run"
    assert main(TRAIN + ["--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {run / 'checkpoint.npz'}: Disk quota exceeded" in err and "Traceback" not in err
    assert not run.exists()                                               # nothing was kept: no empty folder


@pytest.mark.parametrize("edit, entry", [
    (lambda m: m.pop("data"), "'data' entry is missing"),
    (lambda m: m.update(preprocess={}), "'preprocess' entry must hold"),
    (lambda m: m.update(classes=5), "'classes' entry must be a list"),
    (lambda m: m.update(format="x"), "'format' entry must be an integer"),
    (lambda m: m.update(classes=["a", "b", "c"]), "does not fit a softmax head with 10 output"),
])
def test_a_damaged_meta_json_is_a_clear_error(straight, tmp_path, capsys, edit, entry):
    run = tmp_path / "edited"
    shutil.copytree(straight, run)
    meta = json.loads((run / "meta.json").read_text())
    edit(meta)
    (run / "meta.json").write_text(json.dumps(meta))
    np.save(tmp_path / "x.npy", load_digits()[0][0])
    for cmd in (["evaluate", str(run)], ["predict", str(run), str(tmp_path / "x.npy")]):
        capsys.readouterr()
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and entry in err and str(run / "meta.json") in err


def test_bad_numbers_are_refused_up_front_naming_the_flag(tmp_path, capsys):
    for flag, value, says in (("--lr", "inf", "finite number > 0"), ("--lr", "nan", "finite number > 0"),
                              ("--seed", "-1", ">= 0"), ("--epochs", "x", "expected an integer"),
                              ("--momentum", "1.5", "< 1"), ("--lr", "abc", "expected a number")):
        with pytest.raises(SystemExit) as e:
            main(["train", "digits_mlp", flag, value, "--out", str(tmp_path / "r")])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {flag}" in err and says in err, err
    assert not (tmp_path / "r").exists()


def test_help_shows_defaults_and_the_model_names(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for name in models.MODELS:
        assert name in out
    assert out.count("default") >= 10 and "--resume" in out and "--patience" in out
    for spec in models.MODELS.values():                        # each default recipe, spelled out
        assert f"{spec.name:<15} {spec.recipe.summary()}; seed {spec.recipe.seed}" in out


def test_hidden_sizes_show_in_the_header_and_meta(tmp_path, capsys):
    assert main(["train", "digits_mlp", "--epochs", "1", "--hidden", "64,32", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "64 -> 64 ReLU -> 32 ReLU -> 10 softmax" in out and "64 -> 32 ReLU -> 10" not in out.split("\n")[0][:40]
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["architecture"]["description"] == "64 -> 64 ReLU -> 32 ReLU -> 10 softmax"


def test_another_optimizer_starts_from_its_plain_form(tmp_path, capsys):
    assert main(["train", "digits_mlp", "--epochs", "1", "--optimizer", "sgd", "--lr", "0.1",
                 "--out", str(tmp_path / "a")]) == 0
    assert "adam recipe's weight decay, schedule not used" in capsys.readouterr().out
    r = json.loads((tmp_path / "a" / "meta.json").read_text())["recipe"]
    assert (r["optimizer"], r["momentum"], r["weight_decay"], r["schedule"]) == ("sgd", 0.0, 0.0, None)
    assert main(["train", "digits_mlp", "--epochs", "2", "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9",
                 "--weight-decay", "1e-4", "--schedule", "cosine", "--out", str(tmp_path / "b")]) == 0
    r = json.loads((tmp_path / "b" / "meta.json").read_text())["recipe"]
    assert (r["momentum"], r["weight_decay"], r["schedule"]) == (0.9, 1e-4, "cosine")
    hist = json.loads((tmp_path / "b" / "metrics.json").read_text())["history"]
    assert hist[0]["lr"] == 0.1 and hist[1]["lr"] == pytest.approx(0.05)          # cosine over 2 epochs
    assert main(["train", "digits_mlp", "--momentum", "0.9"]) == 2                   # adam has no momentum
    assert "--momentum applies to SGD" in capsys.readouterr().err


def test_without_the_extras_one_line_says_what_was_skipped(tmp_path, monkeypatch, capsys):
    import models.plots
    import models.progress
    monkeypatch.setattr(models.plots, "available", lambda: False)
    monkeypatch.setattr(models.plots, "_pyplot", lambda: None)
    monkeypatch.setattr(models.progress, "_tqdm", lambda: None)
    assert main(["train", "digits_mlp", "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    notes = [x for x in out.splitlines() if x.startswith("note: skipping")]
    assert notes == ['note: skipping the pictures (matplotlib) and the progress bar (tqdm): '
                     'pip install -e ".[plot,progress]" to get them']
    assert f"weights:  {tmp_path / 'r' / 'weights.npz'}" in out


def test_the_end_of_train_names_every_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["train", "digits_mlp", "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    for name in ("loss.png", "confusion.png", "samples.png"):
        assert f"picture:  {tmp_path / 'r' / name}" in out and (tmp_path / "r" / name).is_file()


def test_a_one_epoch_loss_curve_is_visible():
    pytest.importorskip("matplotlib")
    import models.plots as plots
    fig = plots._curves(plots._pyplot(), [{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.4,
                                           "test_acc": 0.9}])
    for ax in fig.axes:
        assert all(line.get_marker() not in (None, "None", "") for line in ax.lines)


def test_predict_on_a_folder_goes_on_past_an_unreadable_file(straight, tmp_path, capsys):
    X, _ = load_digits()
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(3):
        np.save(folder / f"d{i}.npy", X[i])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    (folder / "notes.md").write_text("not a picture")
    capsys.readouterr()
    assert main(["predict", str(straight), str(folder)]) == 2          # one file failed: non-zero, others done
    cap = capsys.readouterr()
    lines = cap.out.strip().splitlines()
    assert [Path(x.split(":")[0]).name for x in lines] == ["d0.npy", "d1.npy", "d2.npy"]
    assert "broken.png" in cap.err and cap.err.count("error:") == 1
    assert main(["predict", str(straight), str(tmp_path / "empty-missing")]) == 2


def test_the_runs_api_does_what_the_cli_does(straight, tmp_path):
    run = models.load_run(straight)
    meta = json.loads((straight / "meta.json").read_text())
    assert run.classes == [str(i) for i in range(10)]
    report = run.evaluate()
    assert report["accuracy"] == meta["metrics"]["test_accuracy"]
    X, y = load_digits()
    probs = run.predict_proba(X[:5])
    assert probs.shape == (5, 10) and np.allclose(probs.sum(1), 1)
    assert np.array_equal(run.predict(X[:5]), probs.argmax(1))
    assert np.array_equal(run.predict(X[0]), run.predict(X[:1]))          # one image works too
    np.save(tmp_path / "a.npy", X[7])
    (p,) = run.predict_files(tmp_path)
    assert p.error is None and p.label == run.predict(X[7])[0] and p.name == run.classes[p.label]
    assert p.probability == pytest.approx(float(run.predict_proba(X[7])[0].max()))


def test_early_stopping_keeps_the_best_epoch(tmp_path, monkeypatch, capsys):
    losses = iter([0.9, 0.5, 0.7, 0.8, 0.95, 1.0, 1.1, 1.2])       # best at epoch 2, then worse
    kept = {}
    real_snapshot = models.training.snapshot

    def snapshot(model, *args, **kw):
        snap = real_snapshot(model, *args, **kw)
        kept[snap["epoch"]] = snap["model"]
        return snap
    monkeypatch.setattr(models.training, "snapshot", snapshot)
    monkeypatch.setattr(models.training, "evaluate_arrays", lambda *a: (next(losses), 0.5))
    out = tmp_path / "r"
    assert main(["train", "digits_mlp", "--epochs", "8", "--val-fraction", "0.2", "--patience", "2",
                 "--out", str(out)]) == 0
    assert "early stop after epoch 4" in capsys.readouterr().out
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 4
    w = _weights(out)
    assert all(np.array_equal(w[k], kept[2][k]) for k in w)
    assert main(["train", "digits_mlp", "--patience", "2"]) == 2
    assert "--patience needs a validation split" in capsys.readouterr().err


# ---- data: the right data or a clear no ---------------------------------------------------------------------
def _fake_mnist(folder: Path, n: int = 40, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, k in (("train", n), ("t10k", n // 2)):
        write_idx(folder / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (k, 28, 28), dtype=np.uint8))
        labels = rng.permutation(np.tile(np.arange(10, dtype=np.uint8), k // 10))
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels)


def test_the_other_sets_files_are_refused_by_checksum(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "f")
    label = tmp_path / "f" / "train-labels-idx1-ubyte"
    digest = datasets.mnist._sha256(label)
    monkeypatch.setitem(datasets.mnist.FASHION_MNIST_RAW_SHA256, "train-labels-idx1-ubyte", digest)
    assert datasets.identify_mnist(tmp_path / "f") == "fashion-mnist"
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte is the Fashion-MNIST file, not MNIST.*"
                                         r"--dataset fashion-mnist"):
        datasets.load_mnist("train", root=tmp_path / "f")
    x, y = datasets.load_fashion_mnist("train", root=tmp_path / "f")
    assert len(x) == 40
    spec = models.get_spec("mnist_mlp")
    raw = models.data.load_source(spec, str(tmp_path / "f"))                   # no --dataset: corrected, said
    assert raw.source["dataset"] == "fashion-mnist" and "identified by checksum" in raw.note
    assert raw.classes[0] == "T-shirt/top"
    with pytest.raises(ValueError, match="is the Fashion-MNIST file"):      # --dataset mnist: refused
        models.data.load_source(spec, str(tmp_path / "f"), "mnist")
    _fake_mnist(tmp_path / "g", seed=1)
    assert datasets.identify_mnist(tmp_path / "g") is None                    # a set of one's own: allowed


@pytest.mark.skipif(not (SHARED_DATA / "fashion-mnist").is_dir(), reason="Fashion-MNIST not in ../shared/data")
def test_the_real_files_are_told_apart(tmp_path):
    fashion, digits = SHARED_DATA / "fashion-mnist", SHARED_DATA / "mnist"
    assert datasets.identify_mnist(fashion) == "fashion-mnist" and datasets.identify_mnist(digits) == "mnist"
    assert datasets.identify_mnist(fashion, "test") == "fashion-mnist"
    raw = tmp_path / "raw"
    raw.mkdir()
    with gzip.open(fashion / "t10k-labels-idx1-ubyte.gz") as f:                 # un-gzipped files too
        (raw / "t10k-labels-idx1-ubyte").write_bytes(f.read())
    assert datasets.mnist.identify_file(raw / "t10k-labels-idx1-ubyte") == "fashion-mnist"
    with pytest.raises(ValueError, match="is the Fashion-MNIST file"):
        datasets.load_mnist("test", root=fashion)
    with pytest.raises(ValueError, match="is the MNIST file"):
        datasets.load_fashion_mnist("test", root=digits)


def test_a_run_trained_through_the_environment_records_its_data(tmp_path, monkeypatch, capsys):
    _fake_mnist(tmp_path / "env" / "mnist", n=200)
    monkeypatch.setenv("TINYGRAD_NP_DATA", str(tmp_path / "env"))
    out = tmp_path / "r"
    assert main(["train", "mnist_mlp", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["data"]["path"] == str((tmp_path / "env" / "mnist").resolve())
    monkeypatch.delenv("TINYGRAD_NP_DATA")
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0                                   # found without the variable
    assert "test accuracy" in capsys.readouterr().out


def test_missing_mnist_tells_a_cli_user_about_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TINYGRAD_NP_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets.mnist, "MNIST_MIRRORS", [(tmp_path / "no-mirror").as_uri() + "/"])
    assert main(["train", "mnist_mlp", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--data /path/to/folder" in err and not (tmp_path / "r").exists()


def test_a_hand_drawn_digit_is_framed_like_mnist(tmp_path):
    page = np.full((300, 220), 255, np.uint8)               # a thin dark 7 on white paper, far from the centre
    page[30:38, 20:160] = 0
    page[38:260, 150:158] = 0
    Image.fromarray(page).save(tmp_path / "seven.png")
    a = Preprocess("mnist", 255.0).read(tmp_path / "seven.png")
    assert a.shape == (28, 28) and a.dtype == np.uint8
    ys, xs = np.nonzero(a > 30)
    assert ys.max() - ys.min() + 1 == 20 and xs.max() - xs.min() + 1 <= 20     # longest side scaled to 20
    w = a.astype(np.float64)
    cy, cx = (w.sum(1) @ np.arange(28)) / w.sum(), (w.sum(0) @ np.arange(28)) / w.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1                          # centre of mass in the middle
    assert a[0].max() == 0 and a[:, 0].max() == 0                               # black border, light ink
    assert mnist_centre(np.zeros((50, 50), np.uint8)).shape == (28, 28)        # a blank picture: no error


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="MNIST not in ../shared/data")
def test_a_thin_hand_drawn_seven_is_read_as_seven(tmp_path, capsys):
    """The issue's case: a clean thin 7 on a big white page. Block-averaging the whole page to 28x28 (the old
    way) gave "2" with this model; framed like MNIST it is a 7."""
    from PIL import ImageDraw
    out = tmp_path / "run"
    assert main(["train", "mnist_mlp", "--epochs", "1", "--out", str(out)]) == 0
    page = Image.new("L", (260, 320), 255)
    ImageDraw.Draw(page).line([(40, 50), (200, 50), (110, 280)], fill=0, width=6)
    page.save(tmp_path / "seven.png")
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "seven.png")]) == 0
    assert "seven.png: 7 (" in capsys.readouterr().out
