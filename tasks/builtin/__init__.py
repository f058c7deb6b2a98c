"""The built-in tasks; importing this package registers them."""

from tasks.builtin import backup, cleanup, report  # noqa: F401
