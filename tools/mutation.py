"""A sampled mutation-testing pass over the core, one group of core files at a time (mutmut 3).

For every group (GROUPS below: core files with the test files that exercise them) this makes a scratch
copy of the checkout, tells mutmut to mutate only those files and to run only those tests, lets mutmut
generate every mutant, draws a fixed-seed sample per file, runs the sample (each mutant against the
tests that reach the mutated function), and prints the score per file as a Markdown table.

    python -m venv /tmp/mut && /tmp/mut/bin/pip install numpy pillow pytest hypothesis mutmut==3.8.1
    nice -n 10 /tmp/mut/bin/python tools/mutation.py --sample 30 --jobs 2

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

# Core files in groups that share their tests: group -> (files, test files under tests/ that exercise
# them). One mutmut run per group records which of these tests calls which function, and then runs
# each mutant against only the tests that reach the mutated function (a few seconds each).
GROUPS = {
    "engine": (["dtypes", "autograd", "function", "tensor"],
               ["test_engine", "test_core_function", "test_core_dtypes", "test_errors_core", "test_tensor",
                "test_custom_ops_doc", "test_behaviour_functions", "test_behaviour_tensor", "test_promotion",
                "test_hardening", "test_hooks", "test_anomaly", "test_inplace", "test_higher_order",
                "test_autograd_functional", "test_torch_surface"]),
    "ops": (["ops/unary", "ops/binary", "ops/reduce", "ops/movement", "ops/tensor_api"],
            ["test_ops_grad", "test_core_movement_grad", "test_torch_parity_core", "test_tensor",
             "test_behaviour_ops", "test_promotion", "test_hardening", "test_unary_math", "test_torch_surface",
             "test_inplace", "test_higher_order", "test_higher_order_torch_math"]),
    "conv_pool": (["ops/conv", "ops/im2col", "ops/pool"],
                  ["test_conv", "test_pool", "test_conv_pool_torch", "test_behaviour_conv_pool"]),
    "nn": (["ops/layers", "ops/loss", "nn/functional", "nn/batchnorm"],
           ["test_nn_layers", "test_nn_losses", "test_nn_module", "test_errors_core", "test_conv", "test_pool",
            "test_behaviour_nn", "test_behaviour_conv_pool", "test_promotion", "test_hardening", "test_higher_order",
            "test_higher_order_torch_math"]),
    "optim": (["optim/optimizer", "optim/sgd", "optim/adam", "optim/adamw", "optim/rmsprop",
               "optim/lr_scheduler"],
              ["test_optim", "test_optim_lr_scheduler", "test_behaviour_optim"]),
    "checks_files": (["gradcheck", "serialization"],
                     ["test_gradcheck", "test_serialization", "test_behaviour_gradcheck",
                      "test_behaviour_serialization", "test_gradcheck_explain", "test_higher_order",
                      "test_higher_order_torch_math"]),
}
GROUP_OF = {f"tinygrad_np/{f}.py": g for g, (files, _) in GROUPS.items() for f in files}

# Mutants no test can kill because no behaviour changes; docs/testing.md gives the reason for each.
# Names are mutmut's (module.function__mutmut_N) and hold for the commit the doc names.
_UNNEEDED = ("computes a gradient for an input that needs none; the engine drops the gradients of inputs "
             "whose needs_input_grad is False, so only time changes")
_FRESH = ("copy= when casting an array np.asarray just made from Python data (a list or scalar): nobody else "
          "holds it, so a copy changes only time")
_DEAD = ("only _step_count == 1 outside the construction step reaches CosineAnnealingLR's closed-form branch "
         "(PyTorch's, for a first step() at t > 0), and construction always takes that step: unreachable")
_NO_OBJECTS = "allow_pickle on write: _encode refuses object arrays before any write, so it is never consulted"
_SAME_DIVISOR = ("the divisor array (all its entries equal) instead of that one scalar of the same dtype: "
                 "the same quotients element by element")
_SHORTCUT = ("skips the float-array-with-Python-scalar shortcut: result_type and the casts then give the "
             "same operands (the shortcut exists because NumPy already agrees), only time changes")
EQUIVALENT: dict[str, str] = {
    "tinygrad_np.ops.unary.xǁSigmoidOpǁforward__mutmut_8": "copy= of astype on np.where's fresh result",
    "tinygrad_np.ops.unary.xǁSigmoidOpǁforward__mutmut_20": "copy= of astype on np.where's fresh result",
    "tinygrad_np.ops.unary.xǁLeakyReLUOpǁforward__mutmut_10":
        "x > 0 vs x >= 0: at x = ±0 both branches give ±0 (0·slope keeps the sign), NaN takes the same branch",
    "tinygrad_np.ops.binary.xǁSubǁbackward__mutmut_2": _UNNEEDED,
    "tinygrad_np.ops.binary.xǁMulǁbackward__mutmut_7": _UNNEEDED,
    "tinygrad_np.ops.binary.xǁDivǁbackward__mutmut_5": _UNNEEDED,
    "tinygrad_np.ops.binary.xǁPowǁbackward__mutmut_11": "gy's initial value is returned only for an input "
                                                          "that needs no gradient, which the engine drops",
    "tinygrad_np.ops.binary.xǁMatMulǁforward__mutmut_18":
        "y.ndim > 2 instead of > 1: for a 2-D y, shape[0] is shape[-2]",
    "tinygrad_np.ops.reduce.xǁArgReduceǁforward__mutmut_2": "default keepdim: every caller passes keepdim",
    "tinygrad_np.ops.movement.xǁStackǁforward__mutmut_1": "default dim: tg.stack always passes dim",
    "tinygrad_np.ops.tensor_api.xǁ_TensorMethodsǁmax__mutmut_7":
        "drops keepdim=False, which is AMax's default anyway",
    "tinygrad_np.ops.movement.xǁGetItemǁbackward__mutmut_5":
        "float64 zeros for the scattered gradient: the engine casts it back to the input's dtype; only repeated "
        "indices could differ, in the last bit, and float64 is the more accurate sum",
    "tinygrad_np.ops.conv.xǁConvolutionǁbackward__mutmut_101":
        "a float64 scratch buffer for dcols: a float32 input gradient agrees to float32 rounding; only memory "
        "and time change, which benchmarks/ measure, not unit tests",
    "tinygrad_np.ops.layers.xǁLinearOpǁbackward__mutmut_21": "reshape(-2): NumPy 2 takes any negative size as 'infer'",
    "tinygrad_np.ops.layers.xǁBatchNormOpǁbackward__mutmut_13":
        "computes gw also when the weight needs no gradient: returned only if need_w, so only time changes",
    "tinygrad_np.ops.layers.xǁBatchNormOpǁforward__mutmut_2": "default momentum: batch_norm always passes it",
    "tinygrad_np.nn.batchnorm.xǁ_BatchNormǁ__init____mutmut_71": "np.array(0) is int64 on 64-bit platforms",
    "tinygrad_np.optim.adam.x_lerp___mutmut_7": "weight <= 0.5: at exactly 0.5 both branches give the same float",
    "tinygrad_np.optim.sgd.xǁSGDǁ_update__mutmut_63": "picks the other scratch buffer for lr·d; same values",
    "tinygrad_np.optim.lr_scheduler.xǁLRSchedulerǁ__init____mutmut_33": "None instead of False: both falsy",
    "tinygrad_np.optim.lr_scheduler.xǁCosineAnnealingLRǁget_lr__mutmut_18": "t−1+T ≡ t−1−T (mod 2T)",
    "tinygrad_np.optim.lr_scheduler.xǁLRSchedulerǁ__init____mutmut_30": _DEAD,
    "tinygrad_np.optim.lr_scheduler.xǁLRSchedulerǁstep__mutmut_3": _DEAD,
    "tinygrad_np.optim.lr_scheduler.xǁCosineAnnealingLRǁget_lr__mutmut_9": _DEAD,
    "tinygrad_np.optim.lr_scheduler.xǁCosineAnnealingLRǁget_lr__mutmut_15": _DEAD,
    "tinygrad_np.serialization.x__write_npz__mutmut_17": "force_zip64 matters only past 4 GiB per member",
    "tinygrad_np.serialization.x__write_npz__mutmut_26": _NO_OBJECTS,
    "tinygrad_np.serialization.x__write_npz__mutmut_29": _NO_OBJECTS,
    "tinygrad_np.serialization.x_load__mutmut_35": "allow_pickle=False is np.load's default",
    "tinygrad_np.serialization.x_load__mutmut_45":
        "NumPy's message names 'Object arrays', which the other half of the test catches",
    "tinygrad_np.ops.im2col.x_im2col__mutmut_22":
        "float64 columns when no buffer is passed: values agree to the input's rounding; only memory and time "
        "change (conv always passes its own buffer)",
    "tinygrad_np.ops.conv.x__chunking__mutmut_27":
        "at least 2 samples per chunk instead of 1: the chunks are independent samples, so only memory, time "
        "and the order of dW's sum over chunks (its last bit) change",
    "tinygrad_np.ops.conv.x__chunking__mutmut_34":
        "max(bytes, 2) instead of max(bytes, 1): a sample's columns are never under 4 bytes (itemsize ≥ 4)",
    "tinygrad_np.ops.pool.x__by_batch__mutmut_41":
        "n / bytes instead of n * bytes decides only whether the chunks run on threads; every sample's windows "
        "are its own, so the values are the same bit for bit and only time changes",
    "tinygrad_np.ops.pool.x__divisor__mutmut_46": _SAME_DIVISOR,
    "tinygrad_np.ops.pool.x__divisor__mutmut_51": _SAME_DIVISOR,
    "tinygrad_np.ops.layers.xǁBatchNormOpǁbackward__mutmut_17":
        "computes gw also when neither weight nor the input's gradient needs it: an unused sum, only time changes",
    "tinygrad_np.ops.layers.xǁBatchNormOpǁbackward__mutmut_42": _UNNEEDED,
    "tinygrad_np.ops.loss.x__per_row__mutmut_1":
        "a 0-d factor reshaped to (1, 1) broadcasts against the (M, C) rows exactly as the scalar does",
    "tinygrad_np.ops.loss.xǁCrossEntropyǁforward__mutmut_3":
        "default label_smoothing: F.cross_entropy, the only caller, always passes it",
    "tinygrad_np.nn.functional.x__paired__mutmut_16":
        "the argument name in _tensor's refusal of a non-array: the line above already refused non-arrays",
    "tinygrad_np.nn.functional.x_linear__mutmut_13":
        "w.shape[+1] for w.shape[-1] in the message: the check above makes the weight 2-D, where both are one",
    "tinygrad_np.dtypes.x__cast_operand__mutmut_1":
        "astype to the dtype the array already has: a copy with the same values (the op's result is fresh "
        "anyway), only time changes",
    "tinygrad_np.tensor.xǁTensorǁ_arg__mutmut_52": "copy=None for copy=False on np.argmax's fresh intp result",
    "tinygrad_np.dtypes.x_binary_operands__mutmut_6": _SHORTCUT,
    "tinygrad_np.dtypes.x_binary_operands__mutmut_15": _SHORTCUT,
    "tinygrad_np.gradcheck.x_central_differences__mutmut_7": "reshape(-2): NumPy 2 takes any negative size as 'infer'",
    "tinygrad_np.tensor.xǁTensorǁregister_hook__mutmut_18":
        "leaf_hooks.pop without its default: only this finalizer removes the entry, once, when its leaf dies "
        "(a later leaf with the same id registers after), so the key is always there",
    "tinygrad_np.ops.binary.xǁPowǁbackward_graph__mutmut_11": "gy's initial value is returned only for an input "
                                                                "that needs no gradient, which the engine drops",
    "tinygrad_np.ops.reduce.x_expand_reduced__mutmut_11":
        "np.reshape(grad, None) for a full reduction without keepdim: grad is then 0-d, and a 0-d array "
        "broadcasts to any shape exactly as its (1,)*ndim reshape does",
    "tinygrad_np.ops.reduce.xǁLogSumExpǁforward__mutmut_39": "copy= of astype on np.where's fresh result",
    "tinygrad_np.ops.reduce.xǁ_Extremeǁforward__mutmut_1":
        "default keepdim: every caller (Tensor.max/min/amax/amin) passes keepdim",
    "tinygrad_np.ops.conv.xǁConvolutionǁbackward__mutmut_182":
        "a float64 scratch buffer for dX: a float32 input gradient agrees to float32 rounding; only memory and "
        "time change (as backward__mutmut_101)",
    "tinygrad_np.ops.conv.xǁConvolutionǁbackward__mutmut_23":
        "folds db into the dW GEMM also when forward did not (a bias of another dtype): conv_planes folds only "
        "when the bias needs a gradient, and then the same sums come out in another order",
    "tinygrad_np.ops.conv.xǁConvolutionǁbackward__mutmut_330":
        "db as a view of the freshly allocated dWᵀ buffer instead of a copy: equal values, only memory held",
    "tinygrad_np.ops.conv.xǁConvolutionǁforward__mutmut_148":
        "allocates a column buffer per pool thread even when the op runs serially: only memory",
    "tinygrad_np.ops.layers.xǁBatchNormOpǁbackward_graph__mutmut_7":
        "needs_input_grad[:4] for [:3]: BatchNormOp.apply gets three positional inputs (the running stats are "
        "keywords), so both slices are the same three flags",
    "tinygrad_np.ops.layers.xǁLinearOpǁbackward__mutmut_25": _UNNEEDED,
    "tinygrad_np.ops.loss.xǁBCEWithLogitsǁbackward__mutmut_44":
        "x > 0 for x >= 0 in the pos_weight branch: at x = 0, z = exp(-|x|) = 1, so both branches divide 1 by 2",
    "tinygrad_np.gradcheck.x_gradgradcheck__mutmut_63":
        "np.asarray(tensor, float64) instead of np.asarray(tensor._data, float64): Tensor.__array__ hands NumPy "
        "the same data",
    "tinygrad_np.ops.movement.xǁWhereǁforward__mutmut_13":
        "copy=True when casting x to the result dtype: np.where reads it and makes a new array, so only time changes",
    "tinygrad_np.gradcheck.x_gradgradcheck__mutmut_91":
        "np.zeros_like(None) is a 0-d object zero: as the constant first derivative of an unused input it adds "
        "exactly 0 to every <v, .> the check forms, as the zeros of the input's shape do",
    "tinygrad_np.ops.loss.xǁCrossEntropyǁbackward_graph__mutmut_26":
        "a float64 one-hot for a float32 input: the engine casts the create_graph gradient back to float32, "
        "and the one-hot's 0/1 entries are exact in both dtypes, so the values agree to float32 rounding",
    "tinygrad_np.ops.pool.xǁMaxPoolǁforward__mutmut_120":
        "xp[:2].nbytes for one sample's bytes: it decides only how the batch is chunked and whether the chunks "
        "run on threads; every sample's windows are its own, so the values are the same bit for bit",
    "tinygrad_np.function.xǁFunctionǁapply__mutmut_46":
        "np.asarray on every forward result instead of only on non-ndarrays: for an ndarray it returns the "
        "same object, so only time changes",
    "tinygrad_np.tensor.xǁTensorǁbackward__mutmut_33": "'XXfiubXX': a dtype kind is one character, never 'X'",
    "tinygrad_np.tensor.xǁTensorǁbackward__mutmut_42":
        "astype copies the caller's gradient (copy=True): the engine never writes into the seed (a leaf's "
        "grad gets its own copy of it), so only time changes",
    "tinygrad_np.gradcheck.x_gradcheck__mutmut_143": "reshape(-2): NumPy 2 takes any negative size as 'infer'",
    "tinygrad_np.tensor.xǁTensorǁ__init____mutmut_21":
        "a leaf's _out_index: read only for tensors with a grad_fn, which __init__ never makes",
        "tinygrad_np.dtypes.x_as_array__mutmut_16": "'XXiuXX': a dtype kind is one character, never 'X'",
    "tinygrad_np.dtypes.x_as_array__mutmut_25": _FRESH,
    "tinygrad_np.dtypes.x_as_array__mutmut_27": _FRESH,
    "tinygrad_np.dtypes.x_as_array__mutmut_28": _FRESH,
}

KILLED, SURVIVED = {1, 3, 36, -24, 24, 152, 255, -11, -9}, {0}   # mutmut's exit codes (timeouts count as kills)


def scratch_copy(group: str, files: list, work: Path, rev: str | None) -> Path:
    """A copy of the checkout (of commit `rev`, or the working tree) whose setup.cfg makes mutmut
    mutate only `files` and run only the group's tests."""
    dest = work / group
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
    tests = [f"tests/{name}.py" for name in GROUPS[group][1] if (dest / "tests" / f"{name}.py").exists()]
    config["mutmut"]["only_mutate"] = "\n" + "\n".join(files)
    config["mutmut"]["pytest_add_cli_args_test_selection"] = "\n" + "\n".join(tests)
    with open(dest / "setup.cfg", "w") as f:
        config.write(f)
    return dest


def exit_codes(where: Path, core_file: str) -> dict:
    return json.loads((where / "mutants" / f"{core_file}.meta").read_text())["exit_code_by_key"]


def run_group(group: str, files: list, sample: int, seed: int, jobs: int, work: Path, rev: str | None,
              only: list | None = None) -> list:
    """Mutate `files` (of one group), run a fixed-seed sample of each file's mutants (or only the named
    mutants, e.g. a previous run's survivors after new tests), score each file."""
    where = scratch_copy(group, files, work, rev)
    env = dict(os.environ, CI="true", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    generate = ("from mutmut.__main__ import *\nset_mutant_under_test('mutant_generation')\n"
                "makedirs('mutants', exist_ok=True); copy_src_dir(); copy_also_copy_files(); "
                "setup_source_paths(); create_mutants(1)")
    subprocess.run([sys.executable, "-c", generate], cwd=where, env=env, check=True, stdout=subprocess.DEVNULL)
    chosen = {}
    for f in files:
        names = sorted(exit_codes(where, f))
        if only is not None:
            chosen[f] = (len(names), [n for n in names if n in only])
        else:
            chosen[f] = (len(names), sorted(random.Random(f"{seed}:{f}").sample(names, min(sample, len(names)))))
    with open(where / "mutmut-run.log", "w") as out:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs),
                        *[n for _, names in chosen.values() for n in names]],
                       cwd=where, env=env, stdout=out, stderr=subprocess.STDOUT)
    results = []
    for f, (total, names) in chosen.items():
        codes = exit_codes(where, f)
        counted = [n for n in names if n not in EQUIVALENT]
        killed = [n for n in counted if codes.get(n) in KILLED]
        alive = [n for n in counted if n not in killed]
        at_import = [n for n in alive if killed_in_fresh_process(where, n, env)]
        survived = [n for n in alive if codes.get(n) in SURVIVED and n not in at_import]
        other = {n: codes.get(n) for n in alive if n not in survived and n not in at_import}
        results.append({"file": f, "total": total, "sampled": len(names), "equivalent": len(names) - len(counted),
                        "killed": len(killed) + len(at_import), "at_import": at_import, "survived": survived,
                        "other": other, "where": str(where)})
    return results


def killed_in_fresh_process(where: Path, name: str, env: dict) -> bool:
    """Run the group's whole test selection in a new Python with `name` switched on from the start.

    mutmut 3 forks every mutant's run from a process that has already imported the package, so code that
    runs at import time (a class body calling a factory, as `_operator(Add, "add")` builds Tensor.__add__)
    is never mutated there: its mutants 'survive' though the suite kills them. A mutant that survived the
    forked run gets this second, slower chance; one that the fresh process also survives is a survivor."""
    config = configparser.ConfigParser()
    config.read(where / "setup.cfg")
    tests = config["mutmut"]["pytest_add_cli_args_test_selection"].split()
    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                             cwd=where / "mutants", env=dict(env, MUTANT_UNDER_TEST=name),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    except subprocess.TimeoutExpired:
        return True                           # as mutmut counts a timeout: the mutant changed behaviour
    return run.returncode == 1                # 1: a test failed; anything else (usage, crash) proves nothing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="core files (default: every file of GROUPS)")
    parser.add_argument("--sample", type=int, default=30, help="mutants drawn per file (default 30)")
    parser.add_argument("--seed", type=int, default=19, help="sampling seed (default 19)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--mutants", nargs="+", metavar="NAME",
                        help="run only these mutants (names as printed, e.g. the last run's survivors)")
    parser.add_argument("--rev", help="test this commit (git archive) instead of the working tree")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tinygrad_np-mutation"),
                        help="scratch directory (default /tmp/tinygrad_np-mutation)")
    parser.add_argument("--equivalents", action="store_true",
                        help="print EQUIVALENT as the Markdown list docs/testing.md shows, and exit")
    args = parser.parse_args(argv)
    if args.equivalents:
        print("\n".join(f"- `{name}`: {why}" for name, why in EQUIVALENT.items()))
        return 0
    unknown = [f for f in args.files if f not in GROUP_OF]
    if unknown:
        parser.error(f"not a core file: {', '.join(unknown)} (choose from: {', '.join(GROUP_OF)})")
    if args.mutants and not args.files:      # the files the named mutants live in
        args.files = sorted({f for f in GROUP_OF for n in args.mutants
                             if n.startswith(f.removesuffix(".py").replace("/", ".") + ".x")})
    wanted = args.files or list(GROUP_OF)
    started = datetime.datetime.now(datetime.timezone.utc)
    results = []
    for group in GROUPS:
        files = [f for f in wanted if GROUP_OF[f] == group]
        if files:
            if args.mutants and not any(n.startswith(f.removesuffix(".py").replace("/", ".") + ".")
                                        for n in args.mutants for f in files):
                continue
            results += run_group(group, files, args.sample, args.seed, args.jobs, args.work, args.rev, args.mutants)
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
        for name in r["at_import"]:
            print(f"killed in a fresh process (import-time code): {name}")
        for name in r["survived"]:
            print(f"survived: {name}   (cd {r['where']} && {sys.executable} -m mutmut show '{name}')")
        for name, code in r["other"].items():
            print(f"not killed (exit code {code}): {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
