"""What the pages keep of their own: the saved views of the lists."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    """A named filter of a list (people, companies, deals, handoffs): the query string the
    list had when it was saved. Shared views are offered to everyone who opens the list."""

    class ListName(models.TextChoices):
        PEOPLE = "people", _("People")
        COMPANIES = "companies", _("Companies")
        DEALS = "deals", _("Deals")
        HANDOFFS = "handoffs", _("Handoffs")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    list_name = models.CharField(_("list"), max_length=20, choices=ListName.choices)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("query string"), max_length=2000, blank=True)
    shared = models.BooleanField(_("shared with everyone"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["list_name", "owner"], name="savedview_list_owner"),
            models.Index(fields=["list_name", "shared"], name="savedview_list_shared"),
        ]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")

    def __str__(self) -> str:
        return self.name
