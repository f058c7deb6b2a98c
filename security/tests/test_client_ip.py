"""Client addresses for rate limiting: X-Forwarded-For only from trusted proxies."""

import pytest
from django.test import RequestFactory

from security.throttling import client_ip


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_peer_is_the_client(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    assert client_ip(request_from("203.0.113.5", "198.51.100.1")) == "203.0.113.5"


def test_a_trusted_proxy_names_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    assert client_ip(request_from("10.0.0.1", "198.51.100.1")) == "198.51.100.1"


def test_trusted_proxies_may_be_networks(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(request_from("10.20.30.40", "198.51.100.1")) == "198.51.100.1"


def test_a_forged_leftmost_hop_is_skipped(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    request = request_from("10.0.0.1", "1.2.3.4, 198.51.100.1, 10.0.0.2")

    assert client_ip(request) == "198.51.100.1"


def test_garbage_in_the_chain_stops_at_the_last_trusted_hop(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(request_from("10.0.0.1", "not-an-ip, 10.0.0.2")) == "10.0.0.2"


def test_a_trusted_proxy_without_forwarded_for_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    assert client_ip(request_from("10.0.0.1")) == "10.0.0.1"


@pytest.mark.parametrize(
    ("hop", "expected"),
    [("198.51.100.1:5678", "198.51.100.1"), ("[2001:db8::1]:443", "2001:db8::1")],
)
def test_ports_in_forwarded_hops_are_dropped(settings, hop, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    assert client_ip(request_from("10.0.0.1", hop)) == expected


def test_an_ipv4_mapped_ipv6_peer_is_its_ipv4_address(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from("::ffff:203.0.113.5")) == "203.0.113.5"
