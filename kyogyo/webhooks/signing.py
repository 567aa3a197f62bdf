"""The signature on every delivery: ``X-Kyogyo-Signature: t=<unix time>,v1=<hex>`` where the
hex is HMAC-SHA256, keyed with the endpoint's secret, of ``"<t>.<body>"``."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Kyogyo-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, *, now: float | None = None, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver does: recompute the HMAC over the raw body, compare in constant time
    and refuse a timestamp older (or newer) than ``tolerance`` seconds (replays)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
