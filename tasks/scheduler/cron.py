"""Task schedules: standard cron expressions turned into APScheduler triggers.

A schedule has the five crontab fields (minute, hour, day of month, month,
day of week). Day-of-week numbers follow crontab (0 and 7 are Sunday), not
APScheduler 3's own numbering (0 is Monday), so ``0 2 * * 0`` runs on
Sundays as an operator expects, and a range may end on 7 (``0-7``,
``5-7``). As in Vixie cron, when both day fields are restricted (neither
starts with ``*``) a day matches if either field matches: ``0 0 1 * 1``
fires on the 1st of each month and on every Monday. Fields are ASCII only
(Python's ``isdigit`` and APScheduler's ``\\d`` accept other scripts' digits
such as ``０``). With ``SCHEDULER_ALLOW_SECONDS`` a leading sixth field for
seconds is accepted too (``*/1 * * * * *``); it exists for tests and
demonstrations that cannot wait for minute boundaries.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.utils import timezone as django_timezone

from contract.errors import Invalid

MAX_SCHEDULE_LENGTH = 100
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_NUMBERS = {name: number for number, name in enumerate(_DAY_NAMES)}
_ONE_MICROSECOND = timedelta(microseconds=1)
# What a field may contain: numbers, names, ``*``, ``/``, ``,`` and ``-``.
# Spelled out rather than ``\d``/``isdigit``, which accept any script's digits.
_FIELD = re.compile(r"[0-9A-Za-z*/,-]+")
_NUMBER = re.compile(r"[0-9]+")
# Fields are split on ASCII blanks only; str.split() would also split on
# separators such as U+3000 or U+001F.
_BLANKS = re.compile(r"[ \t\r\n]+")


def schedule_timezone() -> tzinfo:
    """The zone every schedule is read in: ``settings.TIME_ZONE``."""
    return ZoneInfo(settings.TIME_ZONE)


def schedule_normalise(schedule: object) -> str:
    """The schedule with single spaces between fields.

    Raises Invalid (field ``schedule``) when it is not a cron expression the
    scheduler can run, or when it can never fire (``0 0 31 2 *``).
    """
    if not isinstance(schedule, str) or not schedule.strip():
        raise Invalid(
            "schedule must be a cron expression such as '*/5 * * * *'", field="schedule"
        )
    normalised = " ".join(_split(schedule))
    if len(normalised) > MAX_SCHEDULE_LENGTH:
        raise Invalid(
            f"schedule must be at most {MAX_SCHEDULE_LENGTH} characters",
            field="schedule",
        )
    trigger = schedule_trigger(normalised)
    if trigger.get_next_fire_time(None, django_timezone.now()) is None:
        raise Invalid(f"schedule '{normalised}' never fires", field="schedule")
    return normalised


def schedule_trigger(schedule: str, *, tz: tzinfo | None = None) -> BaseTrigger:
    """The APScheduler trigger of a schedule. Raises Invalid when malformed.

    A ``CronTrigger``, or an ``OrTrigger`` of two when both day fields are
    restricted (Vixie cron's "either day field matches").
    """
    fields = _schedule_fields(schedule)
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, day_of_week = fields
    zone = tz or schedule_timezone()

    def cron(*, day: str, day_of_week: str) -> CronTrigger:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=zone,
        )

    try:
        weekdays = _crontab_weekdays(day_of_week)
        if day.startswith("*") or day_of_week.startswith("*"):
            return cron(day=day, day_of_week=weekdays)
        return OrTrigger(
            [cron(day=day, day_of_week="*"), cron(day="*", day_of_week=weekdays)]
        )
    except (ValueError, TypeError) as exc:
        raise Invalid(
            f"schedule '{schedule}' is not a valid cron expression", field="schedule"
        ) from exc


def _split(schedule: str) -> list[str]:
    """The blank-separated fields of a schedule."""
    return [field for field in _BLANKS.split(schedule) if field]


def _schedule_fields(schedule: str) -> list[str]:
    """The fields of a schedule. Raises Invalid for a wrong count or character."""
    fields = _split(schedule)
    allowed = (5, 6) if settings.SCHEDULER_ALLOW_SECONDS else (5,)
    if len(fields) not in allowed:
        expected = " or ".join(str(n) for n in allowed)
        raise Invalid(
            f"schedule must have {expected} fields, got {len(fields)}: '{schedule}'",
            field="schedule",
        )
    if not all(_FIELD.fullmatch(field) for field in fields):
        raise Invalid(
            f"schedule '{schedule}' is not a valid cron expression: fields hold "
            "only ASCII digits, names, '*', '/', ',' and '-'",
            field="schedule",
        )
    return fields


def schedule_next_run(schedule: str, *, now: datetime) -> datetime | None:
    """The first fire strictly after ``now``, or None when there is none."""
    trigger = schedule_trigger(schedule)
    return trigger.get_next_fire_time(None, now + _ONE_MICROSECOND)


def trigger_last_fire(
    trigger: BaseTrigger, *, now: datetime, within: timedelta
) -> datetime | None:
    """The latest fire of ``trigger`` at or before ``now``, at most ``within`` ago.

    A job's function learns the fire it runs for from this: APScheduler
    calls it right at (or, coalesced or delayed, after) that fire, so the
    latest fire not after "now" is the one being run.
    """
    last = None
    fire = trigger.get_next_fire_time(None, now - within)
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + _ONE_MICROSECOND)
    return last


def _crontab_weekdays(field: str) -> str:
    """Crontab's day-of-week field as APScheduler day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        days.update(_weekday_part(part))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _weekday_part(part: str) -> set[int]:
    """The crontab day numbers (0 is Sunday) one comma-separated part names."""
    span, _, step_text = part.partition("/")
    step = _weekday_number(step_text, allow_names=False) if step_text else 1
    if step < 1:
        raise ValueError(f"bad day-of-week step in {part!r}")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        start, _, end = span.partition("-")
        first, last = _weekday_number(start), _weekday_number(end)
        if last == 0 and first > 0:  # "fri-sun": Sunday ends the week
            last = 7
    else:
        first = _weekday_number(span) % 7
        last = 6 if step_text else first
    if first > last:
        raise ValueError(f"day-of-week range {part!r} runs backwards")
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday_number(text: str, *, allow_names: bool = True) -> int:
    """A crontab day number (0-7, both Sunday) or a three-letter day name."""
    if allow_names and text in _DAY_NUMBERS:
        return _DAY_NUMBERS[text]
    if not _NUMBER.fullmatch(text) or int(text) > 7:
        raise ValueError(f"bad day of week {text!r}")
    return int(text)
