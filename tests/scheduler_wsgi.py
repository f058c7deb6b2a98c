"""The API's WSGI application with the throwaway tasks of ``scheduler_tasks``.

Web workers only accept run requests for registered tasks, so a test that
asks a real server to run ``slow`` serves this module instead.
"""

import tests.scheduler_tasks  # noqa: F401 - registers tick and slow
from autom8_site.wsgi import application

__all__ = ["application"]
