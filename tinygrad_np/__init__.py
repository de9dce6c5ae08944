"""tinygrad_np: a small, fast, honest deep-learning framework on NumPy, shaped like PyTorch."""
from .tensor import Tensor, tensor, cat, stack, where
from .function import Function
from .grad_mode import no_grad, enable_grad, is_grad_enabled
from .factories import zeros, ones, full, zeros_like, ones_like, randn, rand, arange, eye
from .random import manual_seed
from .gradcheck import gradcheck, GradcheckError

float32 = __import__("numpy").float32
float64 = __import__("numpy").float64
int64 = __import__("numpy").int64

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "cat", "stack", "where", "Function", "no_grad", "enable_grad",
           "is_grad_enabled", "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange",
           "eye", "manual_seed", "gradcheck", "GradcheckError", "float32", "float64", "int64"]

from .serialization import save, load  # noqa: E402
from . import nn, optim, data  # noqa: E402
__all__ += ["save", "load", "nn", "optim", "data"]
from . import viz  # noqa: E402  (graph view: tg.viz.to_dot / tg.viz.render)
