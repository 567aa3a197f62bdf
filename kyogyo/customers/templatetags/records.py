"""Template helpers of the person's and company's pages."""

from __future__ import annotations

from django import template

from kyogyo.journey.models import PlaybookItem
from kyogyo.journey.playbook import text_of

register = template.Library()


@register.filter
def playbook_text(item: PlaybookItem) -> str:
    """A playbook line in the reader's language."""
    return text_of(item)
