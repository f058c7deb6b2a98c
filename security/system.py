"""CPU, memory and disk of the host, for the §6 metrics routes and /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil
from django.conf import settings


@dataclass(frozen=True)
class SystemUsage:
    """CPU, memory and disk of the host."""

    cpu_percent: float
    cpu_count: int
    memory_total: int
    memory_available: int
    memory_used: int
    memory_percent: float
    disk_total: int
    disk_used: int
    disk_free: int
    disk_percent: float


_cpu_primed = {"done": False}


def system_usage() -> SystemUsage:
    """The host's resources now; CPU is measured since the previous call."""
    if not _cpu_primed["done"]:
        # The first reading of a process has no previous one to compare to.
        psutil.cpu_percent(interval=0.1)
        _cpu_primed["done"] = True
    memory = psutil.virtual_memory()
    var_dir = Path(settings.VAR_DIR)
    disk = psutil.disk_usage(str(var_dir if var_dir.exists() else "/"))
    return SystemUsage(
        cpu_percent=float(psutil.cpu_percent(interval=None)),
        cpu_count=psutil.cpu_count() or 1,
        memory_total=memory.total,
        memory_available=memory.available,
        memory_used=memory.used,
        memory_percent=float(memory.percent),
        disk_total=disk.total,
        disk_used=disk.used,
        disk_free=disk.free,
        disk_percent=float(disk.percent),
    )
