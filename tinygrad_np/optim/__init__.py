"""`tinygrad_np.optim`: optimizers with PyTorch's update rules, and `lr_scheduler`."""
from . import lr_scheduler
from .adagrad import Adadelta, Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "lr_scheduler"]
