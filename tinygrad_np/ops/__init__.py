"""Built-in ops, one `Function` per op, grouped as in early tinygrad: unary, binary, reduce, movement.

Each class keeps its chain-rule line right under its forward line. Gradients may come back in the
broadcast shape: the engine (autograd.sum_to_shape) reduces them, never the op.
"""
from .binary import Add, Sub, Mul, Div, Pow, MatMul
from .unary import Neg, Exp, Log, Sqrt, Abs, Tanh, Sigmoid, ReLU, LeakyReLU, Clamp, Cast
from .reduce import Sum, Mean, Var, AMax, AMin, ArgReduce, LogSumExp, Softmax, LogSoftmax
from .movement import Reshape, Permute, Expand, GetItem, Cat, Stack, Where

__all__ = ["Add", "Sub", "Mul", "Div", "Pow", "MatMul", "Neg", "Exp", "Log", "Sqrt", "Abs", "Tanh",
           "Sigmoid", "ReLU", "LeakyReLU", "Clamp", "Cast", "Sum", "Mean", "Var", "AMax", "AMin",
           "ArgReduce", "LogSumExp", "Softmax", "LogSoftmax", "Reshape", "Permute", "Expand", "GetItem",
           "Cat", "Stack", "Where"]
