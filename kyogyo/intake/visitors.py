"""Who sent a request: the web origin it came from and the client address it is counted by.

An origin is ``scheme://host[:port]`` as browsers send it in the ``Origin`` header: lower
case, no path, the default port left out."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(text: str) -> str | None:
    """``"HTTPS://WWW.Example.com:443/"`` → ``"https://www.example.com"``; None when the text
    is not a plain http(s) origin (a path, query, user name or bad port in it)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 300:
        return None
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def origin_of_url(url: str) -> str | None:
    """The origin of an absolute http(s) URL (e.g. a page or a redirect target)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return normalise_origin(f"{parts.scheme}://{parts.netloc}")


def request_origin(request: HttpRequest) -> str | None:
    """The ``Origin`` header, or (browsers that leave it out) the origin of the ``Referer``."""
    origin = request.headers.get("Origin")
    if origin:
        return normalise_origin(origin)  # "null" (sandboxed pages, file://) is no origin
    referer = request.headers.get("Referer")
    return origin_of_url(referer) if referer else None


def client_address(request: HttpRequest) -> str:
    """The address a visitor is counted by. Behind ``KYOGYO_PROXY_HOPS`` reverse proxies it is
    the entry they appended to ``X-Forwarded-For`` (entries further left are the client's
    word and can be forged). IPv6 clients are counted by their /64: one household or
    machine gets a whole /64 and could otherwise rotate through it."""
    hops = int(getattr(settings, "KYOGYO_PROXY_HOPS", 0))
    address = request.META.get("REMOTE_ADDR", "") or ""
    if hops > 0:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)
