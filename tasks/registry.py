"""The task registry: code registers tasks by id; everything runs them by id.

A task is a function ``fn() -> dict`` or a class whose instances have
``run(self) -> dict``; the dict is the run's small JSON-able result. The
built-in tasks (``tasks.builtin``) register through the same decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_REGISTRY: dict[str, TaskDefinition] = {}
_TARGETS: dict[str, Any] = {}


@dataclass(frozen=True)
class TaskDefinition:
    """A registered task: id, display name, default cron and its callable."""

    id: str
    name: str
    default_schedule: str
    func: Callable[[], dict]


def _callable_of(target: Any) -> Callable[[], dict]:
    """A zero-argument callable for a task function or a task class."""
    if isinstance(target, type):
        if not callable(getattr(target, "run", None)):
            raise TypeError(f"Task class {target.__name__} has no run() method")
        return lambda: target().run()
    if not callable(target):
        raise TypeError("A task must be a function or a class with run()")
    return target


def register(task_id: str, *, name: str, schedule: str) -> Callable[[Any], Any]:
    """Decorator registering a function or class as task ``task_id``.

    Registering the same object again (a module reload) replaces the entry;
    another object under a taken id raises ValueError.
    """

    def decorator(target: Any) -> Any:
        previous = _TARGETS.get(task_id)
        if previous is not None and _qualname(previous) != _qualname(target):
            raise ValueError(f"Task id {task_id!r} is already registered")
        _TARGETS[task_id] = target
        _REGISTRY[task_id] = TaskDefinition(
            id=task_id, name=name, default_schedule=schedule, func=_callable_of(target)
        )
        return target

    return decorator


def _qualname(target: Any) -> str:
    """Module-qualified name of a function or class."""
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"


def unregister(task_id: str) -> None:
    """Remove a task from the registry (tests register throwaway tasks)."""
    _REGISTRY.pop(task_id, None)
    _TARGETS.pop(task_id, None)


def get_definition(task_id: str) -> TaskDefinition | None:
    """The definition registered under ``task_id``, or None."""
    return _REGISTRY.get(task_id)


def all_definitions() -> list[TaskDefinition]:
    """Every registered task, ordered by id."""
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]
