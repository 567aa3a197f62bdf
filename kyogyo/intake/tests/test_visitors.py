"""Origins as browsers send them, and the client address a visitor is counted by."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from kyogyo.intake.visitors import client_address, normalise_origin, origin_of_url


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://www.example.jp", "https://www.example.jp"),
        ("HTTPS://WWW.Example.JP:443/", "https://www.example.jp"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://例え.jp", "https://xn--r8jz45g.jp"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://www.example.jp/page", None),
        ("https://user@www.example.jp", None),
        ("https://www.example.jp?x=1", None),
        ("ftp://www.example.jp", None),
        ("https://www.example.jp:99999", None),
        ("null", None),
        ("", None),
    ],
)
def test_origins_are_written_as_browsers_send_them(text, origin):
    assert normalise_origin(text) == origin


def test_the_origin_of_a_page():
    assert origin_of_url("https://www.example.jp/thanks?x=1#top") == "https://www.example.jp"
    assert origin_of_url("/thanks") is None
    assert origin_of_url("javascript:alert(1)") is None


@pytest.mark.parametrize(
    ("hops", "remote", "forwarded", "address"),
    [
        (0, "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxy: the header is the client's word
        (1, "10.0.0.2", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the entry our proxy appended
        (2, "10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (1, "10.0.0.2", "", "10.0.0.2"),  # nothing forwarded: the connection's address
        (0, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),
        (0, "::ffff:203.0.113.9", "", "203.0.113.9"),
    ],
)
def test_the_client_address(settings, hops, remote, forwarded, address):
    settings.KYOGYO_PROXY_HOPS = hops
    request = RequestFactory().post("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == address
