"""Modules that load on first use, so that a cold start pays only for the route it serves.

Every route is declared at import (app.py wires the whole table into Chalice), but a Lambda instance usually serves
one kind of request first: the accrual's first request need not import the campaign, binding or sign-in use cases.
An API module names its use cases like this::

    if TYPE_CHECKING:
        from chalicelib.services import accruals
    else:
        accruals = lazy_module("chalicelib.services.accruals")

mypy and import-linter read the real import; at run time ``accruals.accrue(...)`` imports the module on the first
attribute read (under Python's import lock, so two threads cannot half-load it) and is a plain attribute read after.
Patching works as usual: the proxy reads from and writes to the real module, so ``mock.patch`` of
``chalicelib.services.accruals.accrue`` is seen, and so is ``mock.patch.object`` of the proxy itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["lazy_function", "lazy_module"]

T = TypeVar("T")


class _LazyModule:
    # ``__dict__``: once loaded, the module's own namespace, so that an attribute is found there as on the module
    # itself, without ``__getattr__`` (which Python calls only after the ordinary lookup failed: every request reads
    # its use case through here). ``_module`` and ``_name`` are slots: a module's name never shadows them.
    __slots__ = ("__dict__", "_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def _load(self) -> ModuleType:
        module = self._module
        if module is None:
            module = importlib.import_module(self._name)
            object.__setattr__(self, "__dict__", module.__dict__)
            self._module = module
        return module

    def __getattr__(self, attr: str) -> Any:
        module = self._module  # loaded: one read, no call
        return getattr(module if module is not None else _LazyModule._load(self), attr)

    # Writes go to the real module too, so that ``mock.patch.object(proxy, name)`` and ``monkeypatch.setattr``
    # patch (and restore) what every reader sees.
    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in _LazyModule.__slots__:
            object.__setattr__(self, attr, value)
        else:
            setattr(_LazyModule._load(self), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(_LazyModule._load(self), attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A stand-in for the module ``name`` that imports it when one of its attributes is first read."""
    return _LazyModule(name)


def lazy_function(module: str, make: Callable[[ModuleType], Callable[..., T]]) -> Callable[..., T]:
    """A function that imports ``module`` on its first call and then calls what ``make`` builds from that module
    (made once: a route's view, chalicelib/route_index.py, whose module declares the route)."""
    proxy = _LazyModule(module)
    made: list[Callable[..., T]] = []

    def call(*args: Any, **kwargs: Any) -> T:
        if not made:  # two threads may both make it: the same function, the first one kept
            made.append(make(_LazyModule._load(proxy)))
        return made[0](*args, **kwargs)

    return call
