"""The two identity ops behind `Module.register_full_backward_hook`, as PyTorch builds it.

`BackwardHookOut` passes the module's outputs through; its backward records their gradients
(grad_output). `BackwardHookIn` passes the module's inputs that require grad through; its backward
runs last for the module, when the gradients of those inputs (grad_input) are complete, and calls the
hooks with (module, grad_input, grad_output); a hook may return a replacement grad_input. When no
input requires grad, the hooks run from `BackwardHookOut` with grad_input all None (as PyTorch).
Gradients reach the hooks as Tensors in both first-order and create_graph walks.
"""
from __future__ import annotations

from typing import Any

from ..function import Function
from ..tensor import Tensor


class HookState:
    """What the two ops of one module call share."""

    def __init__(self, module: Any, hooks: list, n_inputs: int, input_slots: list) -> None:
        self.module, self.hooks = module, hooks
        self.n_inputs, self.input_slots = n_inputs, input_slots     # positions of the wrapped inputs
        self.grad_output: tuple = ()

    def call(self, grads_in: tuple) -> tuple:
        grad_input = [None] * self.n_inputs
        for slot, g in zip(self.input_slots, grads_in):
            grad_input[slot] = g
        grad_input = tuple(grad_input)
        for hook in list(self.hooks):
            new = hook(self.module, grad_input, self.grad_output)
            if new is not None:
                new = tuple(new) if isinstance(new, (tuple, list)) else (new,)
                if len(new) != len(grad_input):
                    raise RuntimeError(f"backward hook {getattr(hook, '__name__', hook)!r} returned {len(new)} "
                                       f"gradients for {len(grad_input)} inputs")
                grad_input = new
        return tuple(grad_input[slot] for slot in self.input_slots)


def _tensors(grads: tuple) -> tuple:
    return tuple(g if isinstance(g, Tensor) or g is None else Tensor._make(g, False, None) for g in grads)


def _like(new: tuple, old: tuple) -> tuple:
    """Back to what the walk passed in: arrays for the first-order walk, Tensors for create_graph."""
    return tuple(g if g is None or isinstance(o, Tensor) else g._data for g, o in zip(new, old))


class _PassThrough(Function):
    """Identity on several tensors, carrying the module's HookState to backward."""

    @staticmethod
    def forward(ctx, *tensors, state=None):
        ctx.state = state
        return tensors


class BackwardHookOut(_PassThrough):
    @staticmethod
    def backward(ctx, *grads):
        ctx.state.grad_output = _tensors(grads)
        if not ctx.state.input_slots:
            ctx.state.call(())
        return grads

    backward_graph = backward


class BackwardHookIn(_PassThrough):
    @staticmethod
    def backward(ctx, *grads):
        return _like(ctx.state.call(_tensors(grads)), grads)

    backward_graph = backward
