"""`tinygrad_np.nn`: Modules, layers, losses, `init` and `functional`, with PyTorch's names."""
from . import functional, init
from .adaptive import AdaptiveAvgPool2d, AdaptiveMaxPool2d
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import ModuleList, Sequential
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Identity", "Flatten", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "BatchNorm2d",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "functional", "init",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]
