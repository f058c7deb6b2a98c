"""The scheduler's job controls: run, pause and resume a job by its task id."""

from __future__ import annotations

from tasks.services.catalog import task_toggle
from tasks.services.execution import task_run_request

# Each action of ``POST /scheduler/jobs/{id}/<action>`` and its past participle.
JOB_ACTIONS = {"run": "triggered", "pause": "paused", "resume": "resumed"}


def scheduler_job_control(*, task_id: str, action: str) -> str:
    """Run, pause or resume the job of ``task_id``; returns the past participle.

    A run is a run request (see ``task_run_request`` for its errors); pause
    and resume switch the task off and on. Raises NotFound for an unknown
    task and KeyError for an action not in ``JOB_ACTIONS``.
    """
    participle = JOB_ACTIONS[action]
    if action == "run":
        task_run_request(task_id=task_id)
    else:
        task_toggle(task_id=task_id, enabled=action == "resume")
    return participle
