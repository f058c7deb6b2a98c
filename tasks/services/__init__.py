"""Writes of the automation engine: running tasks, their logs, fallback, alerts."""
