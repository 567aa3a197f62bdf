"""The restricted-fields settings page (see kyogyo/web/tests/matrix.py): admins only, like
every other settings page."""

from types import SimpleNamespace

from django.utils import timezone

from kyogyo.org.models import RestrictedField
from kyogyo.web.tests.matrix import ADMINS, Page


def _mark(data: SimpleNamespace) -> list[int]:
    mark, _created = RestrictedField.objects.get_or_create(
        model="deals.deal", field="amount", defaults={"created_at": timezone.now()}
    )
    return [mark.pk]


PAGES = {
    "settings:restricted_fields": Page(
        read=ADMINS, write=ADMINS, data={"field": "deals.deal.amount", "audience": "managers"}
    ),
    "settings:restricted_field_remove": Page(write=ADMINS, args=_mark),
}
