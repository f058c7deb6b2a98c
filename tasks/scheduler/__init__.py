"""The scheduler process: cron schedules, leader election, the run loop."""
