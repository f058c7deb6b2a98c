"""Throwaway tasks for scheduler process tests.

``runscheduler --import tests.scheduler_tasks`` registers them in a scheduler
process; a test process calls ``install()`` / ``uninstall()`` around a test.
``tick`` returns at once, appending its process id to the file named by
``TICK_LOG`` when set (so a test can count real executions per process);
``slow`` runs ``SLOW_TASK_SECONDS`` (default 3).
Their default schedule fires every second (needs ``SCHEDULER_ALLOW_SECONDS``).
"""

import os
import time

from security.files import private_open
from tasks import registry

EVERY_SECOND = "* * * * * *"


def tick() -> dict:
    """Note this execution in ``TICK_LOG`` (if set) and return."""
    path = os.environ.get("TICK_LOG")
    if path:
        with private_open(path, append=True) as handle:
            handle.write(f"{os.getpid()}\n".encode())
    return {"tick": True}


def slow() -> dict:
    """Sleep ``SLOW_TASK_SECONDS`` seconds, then return."""
    seconds = float(os.environ.get("SLOW_TASK_SECONDS", "3"))
    time.sleep(seconds)
    return {"slept": seconds}


def install() -> None:
    """Register ``tick`` and ``slow``."""
    registry.register("tick", name="Tick", schedule=EVERY_SECOND)(tick)
    registry.register("slow", name="Slow", schedule=EVERY_SECOND)(slow)


def uninstall() -> None:
    """Remove ``tick`` and ``slow`` from the registry."""
    registry.unregister("tick")
    registry.unregister("slow")


install()
