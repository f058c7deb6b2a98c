"""Fixtures of the engine tests: private directories and throwaway tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tasks import registry


@pytest.fixture
def engine_dirs(settings, tmp_path: Path) -> Path:
    """Backups, reports and the fallback file of this test live in tmp_path."""
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.REPORT_DIR = tmp_path / "reports"
    settings.TASK_FALLBACK_LOG = tmp_path / "task_fallback.jsonl"
    settings.ALERT_EMAILS = []
    return tmp_path


@pytest.fixture
def make_task() -> Iterator[Callable[..., str]]:
    """Register a throwaway task ``fn`` under a fresh id; unregistered after."""
    created: list[str] = []

    def make(
        fn: Callable[[], dict], *, task_id: str | None = None, name: str = "Demo"
    ) -> str:
        task_id = task_id or f"demo{len(created)}"
        registry.register(task_id, name=name, schedule="* * * * *")(fn)
        created.append(task_id)
        return task_id

    yield make
    for task_id in created:
        registry.unregister(task_id)
