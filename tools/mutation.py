"""A sampled mutation-testing pass over the core, one core file at a time (mutmut 3).

For every core file this makes a scratch copy of the checkout, tells mutmut to mutate only that file and to
run only the test files that exercise it (TESTS_FOR below), lets mutmut generate every mutant, draws a
fixed-seed sample of them, runs the sample, and prints the score per file as a Markdown table.

    python -m venv /tmp/mut && /tmp/mut/bin/pip install numpy pillow pytest hypothesis mutmut==3.8.1
    nice -n 10 /tmp/mut/bin/python tools/mutation.py --sample 60 --jobs 2

Run it with a Python that has mutmut but *not* an installed tinygrad_np (mutmut imports the mutated copy
from its scratch directory; an editable install would shadow it). See docs/testing.md for the habit, the
last scores and the equivalent mutants that EQUIVALENT lists (excluded from the score).
"""
from __future__ import annotations

import argparse
import configparser
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ENGINE_TESTS = ["test_engine", "test_core_function", "test_errors_core", "test_tensor", "test_behaviour_engine"]
OPS_TESTS = ["test_ops_grad", "test_core_movement_grad", "test_torch_parity_core", "test_tensor",
             "test_errors_core", "test_behaviour_ops"]
CONV_TESTS = ["test_conv", "test_conv_pool_torch", "test_behaviour_conv_pool"]
POOL_TESTS = ["test_pool", "test_conv_pool_torch", "test_behaviour_conv_pool"]
NN_TESTS = ["test_nn_layers", "test_nn_losses", "test_behaviour_nn"]
OPTIM_TESTS = ["test_optim", "test_optim_lr_scheduler", "test_behaviour_optim"]

# core file -> the test files (under tests/) that exercise it; each mutant runs only the tests among
# these that mutmut saw calling the mutated function, so a mutant costs a few seconds at most.
TESTS_FOR = {
    "tinygrad_np/dtypes.py": ["test_core_dtypes", "test_tensor", "test_errors_core", "test_behaviour_engine"],
    "tinygrad_np/autograd.py": ENGINE_TESTS,
    "tinygrad_np/function.py": ENGINE_TESTS + ["test_custom_ops_doc"],
    "tinygrad_np/tensor.py": ENGINE_TESTS + ["test_torch_parity_core"],
    "tinygrad_np/ops/unary.py": OPS_TESTS,
    "tinygrad_np/ops/binary.py": OPS_TESTS,
    "tinygrad_np/ops/reduce.py": OPS_TESTS,
    "tinygrad_np/ops/movement.py": OPS_TESTS,
    "tinygrad_np/ops/tensor_api.py": OPS_TESTS,
    "tinygrad_np/ops/conv.py": CONV_TESTS,
    "tinygrad_np/ops/im2col.py": CONV_TESTS + ["test_pool"],
    "tinygrad_np/ops/pool.py": POOL_TESTS,
    "tinygrad_np/ops/layers.py": NN_TESTS + ["test_ops_grad"],
    "tinygrad_np/ops/loss.py": NN_TESTS,
    "tinygrad_np/nn/functional.py": NN_TESTS + CONV_TESTS + ["test_pool", "test_errors_core"],
    "tinygrad_np/nn/batchnorm.py": NN_TESTS + ["test_nn_module"],
    "tinygrad_np/optim/optimizer.py": OPTIM_TESTS,
    "tinygrad_np/optim/sgd.py": OPTIM_TESTS,
    "tinygrad_np/optim/adam.py": OPTIM_TESTS,
    "tinygrad_np/optim/adamw.py": OPTIM_TESTS,
    "tinygrad_np/optim/rmsprop.py": OPTIM_TESTS,
    "tinygrad_np/optim/lr_scheduler.py": OPTIM_TESTS,
    "tinygrad_np/gradcheck.py": ["test_gradcheck", "test_behaviour_gradcheck"],
    "tinygrad_np/serialization.py": ["test_serialization", "test_nn_module", "test_behaviour_serialization"],
}

# Mutants no test can kill because no behaviour changes; docs/testing.md gives the reason for each.
# Names are mutmut's (module.function__mutmut_N) and hold for the commit the doc names.
EQUIVALENT: dict[str, str] = {}

KILLED, SURVIVED = {1, 3, 36, -24, 24, 152, 255, -11, -9}, {0}   # mutmut's exit codes (timeouts count as kills)


def scratch_copy(core_file: str, work: Path, rev: str | None) -> Path:
    """A copy of the checkout (of commit `rev`, or the working tree) whose setup.cfg makes mutmut
    mutate only `core_file` and run its tests."""
    dest = work / core_file.replace("/", "_").removesuffix(".py")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if rev:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "tinygrad_np", "tests", "docs"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    else:
        for name in ("tinygrad_np", "tests", "docs"):
            shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")          # this checkout's [mutmut] section, whatever `rev` is
    tests = [f"tests/{name}.py" for name in TESTS_FOR[core_file] if (dest / "tests" / f"{name}.py").exists()]
    config["mutmut"]["only_mutate"] = core_file
    config["mutmut"]["pytest_add_cli_args_test_selection"] = "\n" + "\n".join(tests)
    with open(dest / "setup.cfg", "w") as f:
        config.write(f)
    return dest


def mutant_names(where: Path, core_file: str) -> list[str]:
    meta = json.loads((where / "mutants" / f"{core_file}.meta").read_text())
    return sorted(meta["exit_code_by_key"])


def run_file(core_file: str, sample: int, seed: int, jobs: int, work: Path, rev: str | None) -> dict:
    where = scratch_copy(core_file, work, rev)
    env = dict(os.environ, CI="true", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    mutmut = [sys.executable, "-m", "mutmut"]
    generate = ("from mutmut.__main__ import *\nset_mutant_under_test('mutant_generation')\n"
                "makedirs('mutants', exist_ok=True); copy_src_dir(); copy_also_copy_files(); "
                "setup_source_paths(); create_mutants(1)")
    subprocess.run([sys.executable, "-c", generate], cwd=where, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    names = mutant_names(where, core_file)
    chosen = sorted(random.Random(f"{seed}:{core_file}").sample(names, min(sample, len(names))))
    log = where / "mutmut-run.log"
    with open(log, "w") as out:
        subprocess.run(mutmut + ["run", "--max-children", str(jobs), *chosen], cwd=where, env=env,
                       stdout=out, stderr=subprocess.STDOUT)
    codes = json.loads((where / "mutants" / f"{core_file}.meta").read_text())["exit_code_by_key"]
    counted = [n for n in chosen if n not in EQUIVALENT]
    killed = [n for n in counted if codes.get(n) in KILLED]
    survived = [n for n in counted if codes.get(n) in SURVIVED]
    other = [n for n in counted if n not in killed and n not in survived]
    return {"file": core_file, "total": len(names), "sampled": len(chosen),
            "equivalent": len(chosen) - len(counted), "killed": len(killed),
            "survived": survived, "other": {n: codes.get(n) for n in other}, "where": str(where)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="core files (default: all of TESTS_FOR)")
    parser.add_argument("--sample", type=int, default=60, help="mutants drawn per file (default 60)")
    parser.add_argument("--seed", type=int, default=19, help="sampling seed (default 19)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--rev", help="test this commit (git archive) instead of the working tree")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tinygrad_np-mutation"),
                        help="scratch directory (default /tmp/tinygrad_np-mutation)")
    args = parser.parse_args(argv)
    unknown = [f for f in args.files if f not in TESTS_FOR]
    if unknown:
        parser.error(f"not a core file: {', '.join(unknown)} (choose from: {', '.join(TESTS_FOR)})")
    started = datetime.datetime.now(datetime.timezone.utc)
    results = [run_file(f, args.sample, args.seed, args.jobs, args.work, args.rev) for f in (args.files or TESTS_FOR)]
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    print(f"Run of {started:%Y-%m-%d %H:%M} UTC on {args.rev or 'the working tree'}, seed {args.seed}, "
          f"sample {args.sample}/file, "
          f"{minutes:.0f} min\n")
    print("| file | mutants | sampled | equivalent | killed | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        counted = r["sampled"] - r["equivalent"]
        score = 100.0 * r["killed"] / counted if counted else 100.0
        print(f"| {r['file']} | {r['total']} | {r['sampled']} | {r['equivalent']} | {r['killed']} | {score:.1f} % |")
    for r in results:
        for name in r["survived"]:
            print(f"survived: {name}   (cd {r['where']} && {sys.executable} -m mutmut show '{name}')")
        for name, code in r["other"].items():
            print(f"not killed (exit code {code}): {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
