"""The rate-limit headers built from what a throttle counted."""

from security.throttling import RateLimitState

STATE = RateLimitState(policy="default", limit=5000, remaining=4990, reset_in=42)
NOW = 1768384800.7


def test_the_limit_header_is_the_quota():
    assert STATE.headers(now=NOW)["X-RateLimit-Limit"] == "5000"


def test_the_remaining_header_is_what_is_left():
    assert STATE.headers(now=NOW)["X-RateLimit-Remaining"] == "4990"


def test_the_reset_header_is_unix_seconds():
    assert STATE.headers(now=NOW)["X-RateLimit-Reset"] == str(1768384800 + 42)


def test_the_policy_header_follows_the_ietf_draft():
    assert STATE.headers(now=NOW)["RateLimit-Policy"] == '"default";q=5000;w=60'


def test_the_ratelimit_header_follows_the_ietf_draft():
    assert STATE.headers(now=NOW)["RateLimit"] == '"default";r=4990;t=42'
