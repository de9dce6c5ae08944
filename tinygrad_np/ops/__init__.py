"""Every built-in differentiable op: one `Function` per op, grouped by kind as in early tinygrad.

    unary.py     Neg Exp Log Sqrt Abs TanhOp SigmoidOp ReLUOp LeakyReLUOp Clamp Clone Cast, Sin Cos Tan Asin Acos
                 Atan Sinh Cosh Log1p Expm1 Log2 Log10 Square Rsqrt Reciprocal Piecewise (sign floor ceil round)
    binary.py    Add Sub Mul Div Pow MatMul
    reduce.py    Sum Mean Var AMax AMin ArgReduce LogSumExp SoftmaxOp LogSoftmaxOp
    movement.py  Reshape Permute Expand GetItem Cat Stack Where
    conv.py      Convolution                     (im2col.py: the window bookkeeping it shares with pooling;
                                                 conv_planes.py: its stride-1 backward in the plane layout)
    pool.py      MaxPool AvgPool                 (adaptive.py: AdaptiveAvgPool AdaptiveMaxPool)
    layers.py    LinearOp DropoutOp BatchNormOp  (the fused ops behind nn layers)
    loss.py      CrossEntropy NLL BCE BCEWithLogits MSE
    inplace.py   SetItem Fill, and the in-place methods (+= add_ zero_ copy_ t[i] = v ...) built on any op
    tensor_api.py  Tensor's methods and tg.cat/stack/where, each a call of one of these
    tensor_function.py  TensorFunction: PyTorch-style custom ops (torch.autograd.Function under as_torch)
    window_grad.py ConvInputGrad ConvWeightGrad MaxPoolScatter/Gather AvgPoolScatter/Gather (conv and
                   pool backward as ops, for create_graph=True)
    higher.py      FirstOrderOnly (a first-order op's gradient, refusing a second differentiation)
    hooks.py       BackwardHookIn/Out (Module.register_full_backward_hook)

Every op has `backward` on ndarrays (the fast first-order path) and `backward_graph` on Tensors (used
only by create_graph=True, docs/higher-order.md), so every built-in op has gradients of any order.

Each class keeps its chain-rule line right under its forward line. Gradients may come back in the
broadcast shape: the engine (autograd.sum_to_shape) reduces them, never the op. An op whose natural
name is an `nn` layer's ends in `Op`. Importing this package attaches Tensor's methods.
"""
from .adaptive import AdaptiveAvgPool, AdaptiveMaxPool
from .binary import Add, Div, MatMul, Mul, Pow, Sub
from .conv import Convolution
from .layers import BatchNormOp, DropoutOp, LinearOp
from .loss import BCE, MSE, NLL, BCEWithLogits, CrossEntropy
from .movement import Cat, Expand, GetItem, Permute, Reshape, ScatterAdd, Stack, Where
from .higher import FirstOrderOnly
from .window_grad import (AvgPoolGather, AvgPoolScatter, ConvInputGrad, ConvWeightGrad, MaxPoolGather,
                          MaxPoolScatter)
from .pool import AvgPool, MaxPool
from .reduce import AMax, AMin, ArgReduce, LogSoftmaxOp, LogSumExp, Mean, SoftmaxOp, Sum, Var
from .tensor_api import attach, cat, stack, where
from .inplace import Fill, SetItem
from .inplace import attach as attach_inplace
from .unary import (Abs, Acos, Asin, Atan, Cast, Clamp, Clone, Cos, Cosh, Exp, Expm1, LeakyReLUOp, Log, Log1p, Log2,
                    Log10, Neg, Piecewise, Reciprocal, ReLUOp, Rsqrt, SigmoidOp, Sin, Sinh, Sqrt, Square, Tan, TanhOp)

attach()
attach_inplace()

__all__ = ["Add", "Sub", "Mul", "Div", "Pow", "MatMul", "Neg", "Exp", "Log", "Sqrt", "Abs", "TanhOp",
           "SigmoidOp", "ReLUOp", "LeakyReLUOp", "Clamp", "Cast", "Clone", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Log1p",
           "Expm1", "Log2", "Log10", "Square", "Rsqrt", "Reciprocal", "Piecewise", "Sum", "Mean", "Var", "AMax", "AMin",
           "ArgReduce", "LogSumExp", "SoftmaxOp", "LogSoftmaxOp", "Reshape", "Permute", "Expand", "GetItem",
           "Cat", "Stack", "Where", "Convolution", "MaxPool", "AvgPool", "LinearOp", "DropoutOp", "BatchNormOp",
           "SetItem", "Fill", "AdaptiveAvgPool", "AdaptiveMaxPool", "CrossEntropy", "NLL", "BCE", "BCEWithLogits", "MSE", "cat", "stack", "where",
           "ScatterAdd", "FirstOrderOnly", "ConvInputGrad", "ConvWeightGrad", "MaxPoolScatter", "MaxPoolGather",
           "AvgPoolScatter", "AvgPoolGather"]
