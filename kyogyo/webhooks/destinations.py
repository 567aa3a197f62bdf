"""Where webhooks may go: public internet addresses only.

A destination is refused when its host is, or resolves to, a private, loopback, link-local,
multicast, reserved, shared (CGNAT) or unspecified address — whatever the notation (decimal
``2130706433``, octal ``0177.0.0.1``, hex ``0x7f.1``, short ``127.1``, IPv6 ``::1``,
IPv4-mapped ``::ffff:127.0.0.1``, NAT64 ``64:ff9b::7f00:1``, 6to4, Teredo, full-width digits).
The check runs when an endpoint is saved and again at delivery time on the addresses DNS
returns; the delivery then connects to the address that was checked.

``KYOGYO_WEBHOOKS_ALLOW_PRIVATE = True`` (for local development only) lets loopback and
private addresses through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
SHARED = ipaddress.ip_network("100.64.0.0/10")
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
HOST_CHARS = re.compile(r"^[a-z0-9._-]+$")


class DestinationError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # ASCII host name (or address) as written, lower case, without brackets
    port: int
    target: str  # path and query, at least "/"


def allow_private() -> bool:
    return bool(getattr(settings, "KYOGYO_WEBHOOKS_ALLOW_PRIVATE", False))


def is_blocked(ip: IPAddress) -> bool:
    """True when ``ip`` is not an ordinary public unicast address (embedded IPv4 included)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_blocked(ip.ipv4_mapped)
        if ip in NAT64:
            return is_blocked(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in LOCAL_NAT64 or ip.teredo is not None:
            return True
        if ip.sixtofour is not None:
            return is_blocked(ip.sixtofour)
    if ip in SHARED:
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _refuse_if_blocked(ip: IPAddress, shown: str) -> None:
    if not is_blocked(ip):
        return
    if allow_private() and not ip.is_multicast and not ip.is_unspecified:
        return
    raise DestinationError(
        "blocked_address",
        f"{shown} is (or resolves to) {ip}, which is not a public internet address",
    )


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` denotes when it is an address in any notation the system resolver
    accepts (``127.1``, ``0x7f.1``, ``2130706433``…), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host) and not host.endswith(".."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            return None
    return None


def parse(url: str) -> Destination:
    """Split and check the URL itself (scheme, host, no credentials, literal addresses)."""
    if not isinstance(url, str) or not url.strip():
        raise DestinationError("bad_url", "the URL is empty")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise DestinationError("bad_url", "the URL contains spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise DestinationError("bad_scheme", "the URL must start with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise DestinationError("credentials", "put no user name or password in the URL; the secret signs")
    raw = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationError("bad_url", f"bad port: {exc}") from exc
    if not raw:
        raise DestinationError("bad_url", "the URL has no host")
    bracketed = parts.netloc.rsplit("@", 1)[-1].startswith("[")
    if bracketed:
        host = raw
    else:
        try:
            host = raw.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise DestinationError("bad_host", f"the host {raw!r} is not a valid name") from exc
        if not HOST_CHARS.match(host):
            raise DestinationError("bad_host", f"the host {raw!r} is not a valid name")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    dest = Destination(parts.scheme, host, port, target)
    name = host.rstrip(".")
    ip = literal_address(host)
    if ip is not None:
        _refuse_if_blocked(ip, raw)
    elif not allow_private() and (name in LOCAL_NAMES or name.endswith(".localhost")):
        raise DestinationError("blocked_address", f"{raw} is this machine, not a public internet address")
    return dest


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve(dest: Destination, resolver: Resolver = system_resolve) -> IPAddress:
    """The address to connect to: every address the name resolves to must pass (so a name
    that mixes public and private answers is refused); the first is used."""
    try:
        answers = list(resolver(dest.host, dest.port))
    except (OSError, UnicodeError) as exc:
        raise DestinationError("unresolvable", f"cannot resolve {dest.host}: {exc}") from exc
    if not answers:
        raise DestinationError("unresolvable", f"{dest.host} resolves to no address")
    addresses = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError as exc:
            raise DestinationError("unresolvable", f"{dest.host} resolved to {answer!r}") from exc
        _refuse_if_blocked(ip, dest.host)
        addresses.append(ip)
    return addresses[0]


def check_url(url: str, resolver: Resolver | None = None) -> Destination:
    """The check made when an endpoint is saved: the URL, and — when a resolver is given and
    the name resolves — its addresses. A name that does not resolve yet is accepted; the
    delivery checks again."""
    dest = parse(url)
    if resolver is not None and literal_address(dest.host) is None:
        try:
            resolve(dest, resolver)
        except DestinationError as exc:
            if exc.code != "unresolvable":
                raise
    return dest
