"""Smoke test of `python -m benchmarks --quick`: it runs from the checkout, the gradient check passes
for every model (by value), and the JSON has the structure the README table and the plot rely on.
Timings are not asserted (a quick run is too short and CI machines are busy), only their sanity."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import __main__ as cli
from benchmarks import runner, specs

ROOT = Path(__file__).resolve().parents[1]
ONLY = "tiny_mlp/8,pool2,add_grad,sgd"       # one of each section; the gradient check covers every model


def _torch_available():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "quick.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", ONLY, "--json", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    return json.loads(path.read_text()), proc.stdout


def test_gradient_check_passed_for_every_model(quick_run):
    run, _ = quick_run
    g = run["gradcheck"]
    assert g["passed"] is True and g["tolerance"] == 1e-3
    frameworks = ["tinygrad_np"] + (["torch"] if _torch_available() else [])
    seen = {(e["model"], e["batch"], e["framework"]) for e in g["entries"]}
    expected = {(m, b, fw) for m, b in specs.train_items() for fw in frameworks}
    expected |= {("overhead_chain", 1, fw) for fw in frameworks}
    assert seen == expected
    for e in g["entries"]:
        assert e["passed"] is True and "error" not in e, e
        assert 0 <= e["max_rel_err"] < 1e-3
        assert max(e["param_rel_err"].values()) == e["max_rel_err"]
        if e["model"] != "overhead_chain":
            spec = specs.get_model(e["model"])
            assert len(e["param_rel_err"]) == 2 * len(specs.layer_names(spec))     # every weight and bias
            assert math.isfinite(e["loss"]) and e["loss_rel_err"] < 1e-3


def test_json_structure(quick_run):
    run, _ = quick_run
    assert run["quick"] is True and run["threads"] == [1] and run["only"] == ONLY.split(",")
    assert run["machine"]["usable_cores"] >= 1 and run["machine"]["cpu"]
    assert run["versions"]["numpy"] and run["versions"]["python"]
    assert Path(run["versions"]["tinygrad_np_path"]) == ROOT / "tinygrad_np"          # the checkout's code
    assert run["settings"]["repeats"] == runner.QUICK.repeats
    (block,) = run["by_threads"]
    for fw, w in block["workers"].items():
        assert w["versions"]["env_threads"]["OPENBLAS_NUM_THREADS"] == "1"
        assert w["sentinel"] > 0 and w["sentinel_end"] > 0 and w["drift"] > 0
    by = {(r["kind"], r["name"]): r for r in block["results"]}
    assert set(by) == {("train", "tiny_mlp"), ("layer", "pool2"), ("overhead", "add_grad"), ("optim", "sgd"),
                       ("matmul", "matmul")}
    for r in block["results"]:
        assert r["errors"] == {}, r["errors"]
        for t in r["timings"].values():
            assert 0 < t["min"] <= t["median"] <= t["max"] and len(t["repeats"]) == runner.QUICK.repeats
            assert t["fastest"] <= t["min"] and t["steps"] >= runner.QUICK.repeats and t["faults_per_step"] >= 0
    train = by[("train", "tiny_mlp")]
    fws = {"hand", "tinygrad_np"} | ({"torch"} if _torch_available() else set())
    assert set(train["timings"]) == fws
    assert train["flops"] == specs.train_flops(specs.get_model("tiny_mlp"), 8)
    ratio = train["ratios"]["tinygrad_np/hand"]
    assert ratio["value"] > 0 and ratio["min"] <= ratio["max"]
    assert set(train["memory"]) == {"hand", "tinygrad_np"} and all(v > 0 for v in train["memory"].values())
    assert set(by[("layer", "pool2")]["timings"]) == fws
    assert "tinygrad_np" in by[("overhead", "add_grad")]["timings"]
    assert "tinygrad_np" in by[("optim", "sgd")]["memory"]


def test_markdown_tables_printed(quick_run):
    _, out = quick_run
    assert "Gradient check: passed" in out
    for heading in ("### Training step", "### Layers", "### Per-op overhead", "### Peak memory", "### Machine"):
        assert heading in out
    assert "| tiny_mlp | 8 |" in out and "GFLOP/s" in out
    header = next(line for line in out.splitlines() if line.startswith("| model | batch |"))
    if _torch_available():
        assert "| PyTorch |" in header and "tinygrad_np ÷ PyTorch" in header
        assert "PyTorch is not installed" not in out
    else:      # NumPy alone: hand vs tinygrad_np, no empty PyTorch column, one line on how to add it
        assert "PyTorch" not in header and header.count("|") == 8
        assert out.count("pip install torch==2.13.0 adds the PyTorch columns") == 1
        assert "PyTorch: ?" not in out


def test_failed_gradient_check_stops_the_run(tmp_path, monkeypatch, capsys):
    bad = {"tolerance": 1e-3, "passed": False, "entries": [
        {"model": "mnist_mlp", "batch": 128, "framework": "tinygrad_np", "loss_hand": 2.3, "loss": 2.3,
         "loss_rel_err": 0.0, "param_rel_err": {"0.weight": 0.5, "0.bias": 0.0}, "max_rel_err": 0.5,
         "passed": False}]}
    monkeypatch.setattr(runner, "run_check", lambda threads, log: bad)
    monkeypatch.setattr(runner, "run_threads", lambda *a: pytest.fail("timed despite a failed check"))
    path = tmp_path / "out.json"
    assert cli.main(["--quick", "--json", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Gradient check FAILED" in out and "mnist_mlp (batch 128), tinygrad_np" in out and "0.weight" in out
    run = json.loads(path.read_text())
    assert run["gradcheck"]["passed"] is False and run["by_threads"] == []


def test_bad_arguments_are_refused():
    with pytest.raises(SystemExit):
        cli.parse(["--only", "no_such_model"])
    with pytest.raises(SystemExit):
        cli.parse(["--threads", "0"])
    assert cli.parse(["--threads", "2,1,2"]).threads == [1, 2]


def test_compiled_section_measures_and_renders_its_rows():
    """benchmarks.compiled's rows (what `python -m benchmarks` shows as 'Compiled steps') carry the three
    timings and their ratios, and the report prints them as a table with the targets."""
    from benchmarks import compiled, report
    result = compiled.measure({"tiny_mlp/8"}, quick=True, log=lambda msg: None)
    (row,) = result["rows"]
    assert (row["model"], row["batch"]) == ("tiny_mlp", 8) and result["chain"] is None
    assert all(row["us"][k] > 0 for k in ("hand", "eager", "compiled"))
    assert row["compiled/eager"] > 0 and row["compiled/hand"] > 0
    text = "\n".join(report._compiled_table(result))
    assert "### Compiled steps (tg.compile)" in text
    assert f"| tiny_mlp | 8 | {row['us']['hand']:.4g} | {row['us']['eager']:.4g} |" in text
    assert f"{row['compiled/hand']:.2f}×" in text
