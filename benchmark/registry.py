"""Extension points: bench's own classes registered in code by import path (`module:Class`, so a source
checkout finds a shipped provider or task without reinstalling), other packages' as Python entry points
(groups `bench.providers`, `bench.tasks`, `bench.analyses`), whose names are read from the installed
packages' metadata without importing anything. Either way a class is imported, checked and kept only
when it is used, and one that cannot be is a UsageError naming where it was registered, not a
traceback."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar, cast

from benchmark.errors import BenchError, UsageError

T = TypeVar("T")


class Registry(Mapping[str, type[T]], Generic[T]):
    """The classes of one extension point by name (bench's own registered in code, other packages' as
    entry points), each imported at its first lookup."""

    def __init__(
        self,
        group: str,
        kind: str,
        base: type,
        builtin: Callable[[], Mapping[str, type[T]]] | None = None,
        shipped: Mapping[str, str] | None = None,
    ) -> None:
        self.group = group
        self.kind = kind
        """What the classes are, for messages: "provider", "task"."""
        self.base = base
        self._points: dict[str, list[importlib.metadata.EntryPoint]] | None = None
        self._loaded: dict[str, type[T]] = {}
        self._builtin = builtin
        """Classes registered in code (found in a source checkout without reinstalling), read at the
        first use of the registry; a name here is not looked up among the entry points."""
        self._code: Mapping[str, type[T]] | None = None
        self._shipped = {
            name: importlib.metadata.EntryPoint(name, path, group) for name, path in (shipped or {}).items()
        }
        """bench's own classes by import path (`module:Class`), each imported at its first lookup like an
        entry point; an installed entry point of the same name (bench's own, when it is installed) is
        not read."""

    def in_code(self) -> Mapping[str, type[T]]:
        """The classes registered in code, by name."""
        if self._code is None:
            self._code = self._builtin() if self._builtin is not None else {}
        return self._code

    def points(self) -> dict[str, list[importlib.metadata.EntryPoint]]:
        """The group's entry points by name (read once), the shipped ones first."""
        if self._points is None:
            found = {name: [point] for name, point in self._shipped.items()}
            for point in importlib.metadata.entry_points(group=self.group):
                if point.name in self._shipped:
                    continue
                same = found.setdefault(point.name, [])
                if all(p.value != point.value for p in same):
                    same.append(point)
            self._points = found
        return self._points

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*self.points(), *self.in_code()}))

    def __len__(self) -> int:
        return len({*self.points(), *self.in_code()})

    def __contains__(self, name: object) -> bool:
        return name in self.points() or name in self.in_code()

    def __getitem__(self, name: str) -> type[T]:
        if name in self.in_code():
            return self.in_code()[name]
        if name not in self._loaded:
            self._loaded[name] = self._load(name)
        return self._loaded[name]

    def unknown(self, name: str) -> UsageError:
        """The error for a name that nothing registers."""
        if not self.points() and not self.in_code():
            return UsageError(
                f"no {self.kind}s are registered (entry points {self.group}): install bench "
                "(pip install -e . in a checkout)"
            )
        return UsageError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self)}")

    def _load(self, name: str) -> type[T]:
        points = self.points().get(name)
        if not points:
            raise KeyError(name)
        if len(points) > 1:
            shown = "; ".join(self._described(p) for p in points)
            raise UsageError(f"{self.kind} {name!r} is registered more than once ({shown}): uninstall one")
        point = points[0]
        try:
            loaded = point.load()
        except BenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - a third party's import error, as one line
            reason = next(iter(str(exc).splitlines()), "")
            raise UsageError(
                f"{self.kind} {name!r} cannot be loaded from {self._described(point)}: "
                f"{type(exc).__name__}{': ' + reason if reason else ''}"
            ) from None
        if not (isinstance(loaded, type) and issubclass(loaded, self.base)):
            raise UsageError(
                f"{self.kind} {name!r} from {self._described(point)} is not a subclass of "
                f"{self.base.__module__}.{self.base.__name__}"
            )
        own = getattr(loaded, "name", None)
        if own != name:
            raise UsageError(
                f"{self.kind} {name!r} from {self._described(point)} calls itself {own!r}: its class "
                "attribute `name` must be the entry point's name"
            )
        return cast(type[T], loaded)

    def _described(self, point: importlib.metadata.EntryPoint) -> str:
        """`name = module:Class` and the package that declares it."""
        if self._shipped.get(point.name) is point:
            return f"bench's own {point.name} = {point.value}"
        return _described(point)


def _described(point: importlib.metadata.EntryPoint) -> str:
    """`name = module:Class` and the package that declares it."""
    dist = point.dist
    package = f" (package {dist.name} {dist.version})" if dist is not None else ""
    return f"the entry point {point.name} = {point.value}{package}"
