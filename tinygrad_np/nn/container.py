"""`Sequential` (a chain of layers named 0, 1, 2, …) and `ModuleList` (a registered list of layers)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Union

from .module import Module


def _index(i: int, n: int, owner: str) -> int:
    if not isinstance(i, int):
        raise TypeError(f"{owner} indices must be integers or slices, not {type(i).__name__}")
    if not -n <= i < n:
        raise IndexError(f"{owner} index {i} is out of range for {n} modules")
    return i % n


class Sequential(Module):
    """`Sequential(layer0, layer1, ...)` or `Sequential(OrderedDict(name=layer, ...))`: forward feeds each
    layer's output to the next. Supports `len`, iteration, `seq[i]` and slicing (a new Sequential that
    shares the layers)."""

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            for name, layer in layers[0].items():
                self.add_module(name, _check(layer, name))
        else:
            for i, layer in enumerate(layers):
                self.add_module(str(i), _check(layer, str(i)))

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, idx: Union[int, slice]) -> Any:
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[_index(idx, len(mods), "Sequential")][1]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self._modules), "Sequential")]
        self._modules[key] = _check(module, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self._modules)), _check(module, str(len(self._modules))))
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (named 0, 1, …); it has no forward."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), _check(module, str(len(self._modules))))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, idx: Union[int, slice]) -> Any:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


def _check(layer: Any, name: str) -> Module:
    if not isinstance(layer, Module):
        raise TypeError(f"Sequential/ModuleList: item {name} must be an nn.Module, got {type(layer).__name__}")
    return layer
