"""Cron schedules: validation, crontab weekday numbering, next fire times."""

from datetime import UTC, datetime

import pytest

from contract.errors import Invalid
from tasks.scheduler.cron import schedule_next_run, schedule_normalise, schedule_trigger

# A Wednesday.
NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


class TestScheduleNormalise:
    def test_spaces_between_fields_are_collapsed(self):
        assert schedule_normalise("  */5   *  * * *  ") == "*/5 * * * *"

    @pytest.mark.parametrize(
        "schedule",
        [
            "",
            "   ",
            "x",
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "a b c d e",
            "0 2 * * 8",
        ],
    )
    def test_malformed_cron_is_invalid_naming_the_schedule_field(self, schedule):
        with pytest.raises(Invalid) as caught:
            schedule_normalise(schedule)

        assert caught.value.status == 400
        assert "schedule" in caught.value.details

    @pytest.mark.parametrize("schedule", [None, 5, ["* * * * *"]])
    def test_a_schedule_that_is_not_text_is_invalid(self, schedule):
        with pytest.raises(Invalid):
            schedule_normalise(schedule)

    def test_a_schedule_that_never_fires_is_invalid(self):
        with pytest.raises(Invalid, match="never fires"):
            schedule_normalise("0 2 31 2 *")

    def test_an_overlong_schedule_is_invalid(self):
        with pytest.raises(Invalid, match="at most 100"):
            schedule_normalise("0 " + ",".join(["1"] * 60) + " * * *")

    def test_a_seconds_field_is_refused_by_default(self, settings):
        settings.SCHEDULER_ALLOW_SECONDS = False

        with pytest.raises(Invalid, match="5 fields"):
            schedule_normalise("*/1 * * * * *")

    def test_a_seconds_field_is_accepted_when_allowed(self, settings):
        settings.SCHEDULER_ALLOW_SECONDS = True

        assert schedule_normalise("*/1 * * * * *") == "*/1 * * * * *"


class TestScheduleNextRun:
    def test_daily_schedule_fires_next_at_its_hour(self):
        assert schedule_next_run("0 2 * * *", now=NOW) == datetime(
            2026, 1, 15, 2, 0, tzinfo=UTC
        )

    def test_next_run_is_strictly_after_now(self):
        assert schedule_next_run("0 10 * * *", now=NOW) == datetime(
            2026, 1, 15, 10, tzinfo=UTC
        )

    @pytest.mark.parametrize("weekday", ["0", "7", "sun", "SUN"])
    def test_crontab_day_zero_and_seven_are_sunday(self, weekday):
        next_run = schedule_next_run(f"0 2 * * {weekday}", now=NOW)

        assert next_run.strftime("%A") == "Sunday"

    def test_weekday_range_one_to_five_is_monday_to_friday(self):
        trigger = schedule_trigger("0 2 * * 1-5")

        assert "day_of_week='mon,tue,wed,thu,fri'" in str(trigger)

    def test_weekday_range_ending_on_seven_includes_sunday(self):
        trigger = schedule_trigger("0 2 * * 5-7")

        assert "day_of_week='sun,fri,sat'" in str(trigger)

    def test_weekday_step_counts_from_sunday(self):
        trigger = schedule_trigger("0 2 * * */2")

        assert "day_of_week='sun,tue,thu,sat'" in str(trigger)

    def test_schedule_is_read_in_the_configured_time_zone(self, settings):
        settings.TIME_ZONE = "Africa/Nairobi"  # UTC+3

        next_run = schedule_next_run("0 2 * * *", now=NOW)

        assert next_run == datetime(2026, 1, 14, 23, 0, tzinfo=UTC)

    def test_seconds_field_fires_every_second(self, settings):
        settings.SCHEDULER_ALLOW_SECONDS = True

        assert schedule_next_run("* * * * * *", now=NOW) == datetime(
            2026, 1, 14, 10, 0, 1, tzinfo=UTC
        )


class TestCrontabDayFields:
    def test_weekday_range_zero_to_seven_is_every_day(self):
        next_run = schedule_next_run("0 0 * * 0-7", now=NOW)

        assert next_run == datetime(2026, 1, 15, 0, 0, tzinfo=UTC)

    def test_restricted_day_of_month_or_weekday_fires_on_the_weekday(self):
        next_run = schedule_next_run("0 0 1 * 1", now=NOW)

        assert next_run == datetime(2026, 1, 19, 0, 0, tzinfo=UTC)  # a Monday

    def test_restricted_day_of_month_or_weekday_fires_on_the_first(self):
        after_last_monday = datetime(2026, 1, 26, 1, 0, tzinfo=UTC)

        next_run = schedule_next_run("0 0 1 * 1", now=after_last_monday)

        assert next_run == datetime(2026, 2, 1, 0, 0, tzinfo=UTC)  # a Sunday

    def test_a_starred_day_of_month_with_a_step_still_ands_the_weekday(self):
        new_year = datetime(2026, 1, 1, tzinfo=UTC)

        next_run = schedule_next_run("0 0 */2 * 1", now=new_year)

        assert next_run == datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # Monday the 5th


class TestNonAsciiFields:
    @pytest.mark.parametrize(
        "schedule",
        [
            "\uff10 0 * * *",  # fullwidth zero
            "0 0 * * \uff15",  # fullwidth five, day of week
            "0 0 \u0661 * *",  # Arabic-Indic one
            "0\u30000 * * *",  # ideographic space between fields
        ],
    )
    def test_digits_or_spaces_of_other_scripts_are_invalid(self, schedule):
        with pytest.raises(Invalid) as caught:
            schedule_normalise(schedule)

        assert "schedule" in caught.value.details
