"""tinygrad_np: a small, fast, honest deep-learning framework on NumPy, shaped like PyTorch.

The layers of docs/DESIGN.md, bottom up: the autograd core (dtypes, grad_mode, tensor, function,
autograd), the ops (`tinygrad_np.ops`, which also give Tensor its methods), numerical checking
(gradcheck, testing), then nn, optim, data and files. Every module imports only from below itself,
so any of them can be imported first.
"""
import builtins as _builtins

import numpy as _np

from . import ops
from .device import accelerator, backends, cuda, device, get_default_device, mps, set_default_device
from .dtypes import bool_, float32, float64, int32, int64, promote_types, result_type, uint8
from .factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, logspace,
                        ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, zeros, zeros_like)
from .functions import *  # noqa: F401,F403 -- tg.sum(t, 1), tg.max(t, 1), tg.exp(t), ... (PyTorch's functions)
from .functions import __all__ as _function_names
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .ops import cat, stack, where
from .random import manual_seed
from .serialization import load, save
from .tensor import Size, Tensor, tensor
from .threads import get_num_threads, set_num_threads
from . import data, nn, optim, viz  # the layers above the core
from .compiler import compile  # noqa: A001  (tg.compile, like torch.compile)
import sys as _sys

from . import anomaly, autograd, autograd_functional, autograd_graph
from .gradcheck import gradgradcheck

# tg.autograd is the core walk module; PyTorch's public names there (grad, functional) live above the
# ops, so they are attached here, once everything has loaded (`import tinygrad_np.autograd.functional`
# works through the sys.modules entry).
autograd_graph.install()
autograd.grad = autograd_graph.grad
autograd.functional = autograd_functional
autograd.detect_anomaly = anomaly.detect_anomaly
autograd.set_detect_anomaly = anomaly.set_detect_anomaly
autograd.is_anomaly_enabled = anomaly.is_anomaly_enabled
_sys.modules["tinygrad_np.autograd.functional"] = autograd_functional

# PyTorch's aliases, as attributes only (not in __all__: a star import must not shadow the builtins)
float = float32
double = float64
long = int64
int = int32
bool = bool_
int8, int16 = _np.dtype(_np.int8), _np.dtype(_np.int16)
short = int16

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "cat", "stack", "where", "Function", "no_grad", "enable_grad",
           "is_grad_enabled", "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange",
           "eye", "manual_seed", "set_num_threads", "get_num_threads", "gradcheck", "gradgradcheck", "GradcheckError", "float32", "float64", "int32", "int64", "uint8",
           "bool_", "save", "load", "nn", "optim", "data", "viz", "ops", "Size", "device", "cuda", "mps",
           "accelerator", "backends", "set_default_device", "get_default_device", "result_type", "promote_types",
           "as_tensor", "empty", "empty_like", "from_numpy", "full_like", "linspace", "logspace", "rand_like",
           "randint", "randn_like", "randperm"] + [n for n in _function_names if not hasattr(_builtins, n)]
# tg.compile is an attribute, not in __all__: a star import must not shadow the builtin compile
