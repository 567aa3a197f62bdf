"""Email addresses judged exactly as Django's ``validate_email`` judges them, with the verdict
on each domain remembered: a file or a batch has thousands of people and few domains, and the
domain's pattern is the expensive part."""

from __future__ import annotations

from functools import lru_cache

from django.core.validators import validate_email


@lru_cache(maxsize=16384)  # an import checks each address twice: as a cell, then as a field
def is_valid(address: str) -> bool:
    """What ``validate_email(address)`` accepts (it raises for the others)."""
    if not address or "@" not in address or len(address) > 320:
        return False
    user, domain = address.rsplit("@", 1)
    return bool(validate_email.user_regex.match(user)) and _is_valid_domain(domain)


@lru_cache(maxsize=65536)
def _is_valid_domain(domain: str) -> bool:
    return domain in validate_email.domain_allowlist or bool(validate_email.validate_domain_part(domain))
