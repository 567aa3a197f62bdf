"""The destination check against a corpus of addresses in every notation: at save time on
the URL, and at delivery time on what DNS returns."""

from __future__ import annotations

import pytest

from kyogyo.webhooks.destinations import DestinationError, check_url, parse, resolve

REFUSED = [
    # loopback, in every IPv4 notation the system resolver accepts
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0177.1/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://0x7F.0.0.1/",
    "http://017700000001/",
    "http://127.0.0.1.:8080/",
    "http://１２７.０.０.１/",  # full-width digits, normalised by IDNA to 127.0.0.1
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    # unspecified
    "http://0/",
    "http://0.0.0.0/",
    "http://[::]/",
    # private, shared, link-local (cloud metadata), multicast, reserved, broadcast
    "http://10.0.0.1/",
    "http://10.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://0xc0a80101/",
    "http://3232235777/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    # IPv6: loopback, mapped, compatible, NAT64, 6to4, Teredo, ULA, link-local, multicast
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::10.0.0.1]/",
    "http://[64:ff9b:1::8.8.8.8]/",
    "http://[2002:7f00:1::]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[ff02::1]/",
]

ALLOWED = [
    "https://hooks.example.com/kyogyo",
    "https://8.8.8.8/",
    "http://93.184.215.14:8080/in?x=1",
    "http://134744072/",  # 8.8.8.8 in decimal: odd, but public
    "https://[2606:4700:4700::1111]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::8.8.8.8]/",
    "https://[2002:808:808::1]/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_special_destinations_are_refused_in_every_notation(url):
    with pytest.raises(DestinationError) as caught:
        parse(url)
    assert caught.value.code == "blocked_address"


@pytest.mark.parametrize("url", ALLOWED)
def test_public_destinations_are_accepted(url):
    parse(url)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
        ("example.com/hook", "bad_scheme"),
        ("", "bad_url"),
        ("https:///path", "bad_url"),
        ("https://user:pw@example.com/", "credentials"),
        ("https://example.com:99999/", "bad_url"),
        ("https://exa mple.com/", "bad_url"),
        ("https://example.com/\n", "bad_url"),
        ("https://ex_ample!.com/", "bad_host"),
    ],
)
def test_malformed_urls_are_refused_with_a_code(url, code):
    with pytest.raises(DestinationError) as caught:
        parse(url)
    assert caught.value.code == code


def fixed(*answers: str):
    return lambda host, port: list(answers)


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.0.0.7"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["64:ff9b::a9fe:a9fe"],
        ["fe80::1%eth0"],
        ["93.184.215.14", "127.0.0.1"],  # one bad answer among good ones is enough
    ],
)
def test_a_name_resolving_to_a_private_address_is_refused(answers):
    dest = parse("https://rebind.example.com/")
    with pytest.raises(DestinationError) as caught:
        resolve(dest, fixed(*answers))
    assert caught.value.code == "blocked_address"
    with pytest.raises(DestinationError):
        check_url("https://rebind.example.com/", fixed(*answers))


def test_resolution_returns_the_checked_address_and_unresolvable_names_are_named():
    dest = parse("https://hooks.example.com/")
    assert str(resolve(dest, fixed("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"))) == (
        "93.184.215.14"
    )

    def nxdomain(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(DestinationError) as caught:
        resolve(dest, nxdomain)
    assert caught.value.code == "unresolvable"
    assert "hooks.example.com" in str(caught.value)
    # at save time a name that does not resolve yet is accepted: delivery checks again
    check_url("https://hooks.example.com/", nxdomain)


def test_private_addresses_pass_only_with_the_development_setting(settings):
    settings.KYOGYO_WEBHOOKS_ALLOW_PRIVATE = True
    parse("http://127.0.0.1:8000/hook")
    parse("http://localhost:8000/hook")
    assert str(resolve(parse("http://dev.test/"), fixed("192.168.0.5"))) == "192.168.0.5"
    with pytest.raises(DestinationError):
        parse("http://224.0.0.1/")  # multicast and unspecified never
    with pytest.raises(DestinationError):
        parse("http://0.0.0.0/")
