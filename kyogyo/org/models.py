"""The four go-to-market teams and the people in them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A team that owns stages of the journey. The key is stable; names are renameable."""

    MARKETING = "marketing"
    INSIDE_SALES = "inside_sales"
    FIELD_SALES = "field_sales"
    CUSTOMER_SUCCESS = "customer_success"

    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_ja = models.CharField(_("Japanese name"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who works in Kyogyo: member of one team with one role."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        MANAGER = "manager", _("Manager")
        ADMIN = "admin", _("Admin")

    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    language = models.CharField(_("language"), max_length=8, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_manager(self) -> bool:
        return self.role in (self.Role.MANAGER, self.Role.ADMIN)


class RestrictedField(models.Model):
    """A field an admin marked restricted: its values are hidden, on every record, from
    everyone outside the audience (kyogyo/org/restricted.py decides and masks)."""

    class Audience(models.TextChoices):
        MANAGERS = "managers", _("Managers and admins")
        ADMINS = "admins", _("Admins only")

    model = models.CharField(_("record"), max_length=60, help_text=_("app.model, e.g. deals.deal"))
    field = models.CharField(_("field"), max_length=60)
    audience = models.CharField(
        _("who may see it"), max_length=10, choices=Audience.choices, default=Audience.MANAGERS
    )
    created_at = models.DateTimeField(_("marked at"))
    created_by = models.ForeignKey(
        User,
        verbose_name=_("marked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["model", "field"]
        constraints = [models.UniqueConstraint(fields=["model", "field"], name="restricted_field_once")]
        verbose_name = _("restricted field")
        verbose_name_plural = _("restricted fields")

    def __str__(self) -> str:
        return f"{self.model}.{self.field} ({self.audience})"
