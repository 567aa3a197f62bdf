"""What comes in from outside: website forms (public) and inbound webhook sources (signed),
and the memory of signed messages already seen (replays are refused)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kyogyo.intake.visitors import normalise_origin
from kyogyo.marketing.models import ActivityType

# What a form field can fill in. ``payload.NAME`` keeps the answer in the activity's payload.
CONTACT_TARGETS = ("email", "first_name", "last_name", "title", "phone")
ACCOUNT_TARGETS = (
    "account.name",
    "account.domain",
    "account.industry",
    "account.employee_count",
    "account.country",
)
PAYLOAD_TARGET = re.compile(r"^payload\.[a-z0-9_]{1,40}$")
FIELD_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,60}$")
REDIRECT_FIELD = "redirect"
DEFAULT_FIELD_MAP = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "account.name",
    "title": "title",
}


def is_target(name: str) -> bool:
    return name in CONTACT_TARGETS or name in ACCOUNT_TARGETS or bool(PAYLOAD_TARGET.match(name))


class Form(models.Model):
    """A form on a website: where it may be posted from, what its fields fill in, the
    activity a fill records and the consent wording the visitor is shown."""

    class Kind(models.TextChoices):
        FORM_SUBMISSION = ActivityType.FORM_SUBMISSION.value, ActivityType.FORM_SUBMISSION.label
        CONTENT_DOWNLOAD = ActivityType.CONTENT_DOWNLOAD.value, ActivityType.CONTENT_DOWNLOAD.label

    key = models.SlugField(_("key"), max_length=50, unique=True, help_text=_("Used in the form's URL."))
    name = models.CharField(_("name"), max_length=200)
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        help_text=_('Websites the form may be posted from, e.g. ["https://www.example.com"].'),
    )
    field_map = models.JSONField(
        _("field mapping"),
        default=dict,
        help_text=_('Form field name → what it fills in, e.g. {"company": "account.name"}.'),
    )
    required = models.JSONField(_("required fields"), default=list, blank=True)
    activity_type = models.CharField(
        _("activity type"), max_length=20, choices=Kind.choices, default=Kind.FORM_SUBMISSION
    )
    campaign = models.ForeignKey(
        "marketing.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    consent_field = models.CharField(_("consent field"), max_length=60, default="consent")
    consent_wording = models.TextField(
        _("consent wording"),
        blank=True,
        help_text=_("The text shown beside the consent box; recorded with every consent given."),
    )
    honeypot_field = models.CharField(
        _("honeypot field"),
        max_length=60,
        default="homepage",
        help_text=_("A hidden field people leave empty; a fill with it filled in is dropped."),
    )
    rate_limit = models.PositiveIntegerField(
        _("fills per client address"), default=10, validators=[MinValueValidator(1)]
    )
    rate_window = models.PositiveIntegerField(
        _("rate window (seconds)"), default=3600, validators=[MinValueValidator(1)]
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["key"]
        verbose_name = _("website form")
        verbose_name_plural = _("website forms")

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def source(self) -> str:
        return f"form:{self.key}"

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        for name, problem in [*self._origin_problems(), *self._field_problems()]:
            errors.setdefault(name, []).append(problem)
        if errors:
            raise ValidationError(errors)

    def _origin_problems(self) -> list[tuple[str, ValidationError]]:
        origins = self.allowed_origins
        if not isinstance(origins, list) or not origins:
            return [("allowed_origins", ValidationError("give at least one origin", code="no_origins"))]
        bad = [o for o in origins if normalise_origin(o) != o]
        if bad:
            hint = "; ".join(f"{o!r} → {normalise_origin(o)!r}" for o in bad[:5])
            message = f"origins must be written as scheme://host[:port], lower case, no path: {hint}"
            return [("allowed_origins", ValidationError(message, code="bad_origin"))]
        return []

    def _field_problems(self) -> list[tuple[str, ValidationError]]:
        mapping: Any = self.field_map
        if not isinstance(mapping, dict) or not mapping:
            return [("field_map", ValidationError("map at least the email field", code="no_fields"))]
        problems = []
        reserved = {self.honeypot_field, self.consent_field, REDIRECT_FIELD}
        for field, target in mapping.items():
            if not FIELD_NAME.match(str(field)):
                problems.append(("field_map", ValidationError(f"bad field name {field!r}", code="bad_field")))
            elif field in reserved:
                message = f"{field!r} is the honeypot, consent or redirect field; it fills in nothing"
                problems.append(("field_map", ValidationError(message, code="reserved_field")))
            if not isinstance(target, str) or not is_target(target):
                known = ", ".join([*CONTACT_TARGETS, *ACCOUNT_TARGETS, "payload.NAME"])
                message = f"field {field!r}: unknown target {target!r} (known: {known})"
                problems.append(("field_map", ValidationError(message, code="unknown_target")))
        targets = list(mapping.values())
        if targets.count("email") != 1:
            message = "exactly one field must fill in email (people are found by it)"
            problems.append(("field_map", ValidationError(message, code="email_field")))
        for target in {t for t in targets if isinstance(t, str) and targets.count(t) > 1}:
            problems.append(("field_map", ValidationError(f"two fields fill in {target}", code="twice")))
        required = self.required if isinstance(self.required, list) else None
        if required is None or not set(required) <= {*mapping, self.consent_field}:
            unknown = sorted(set(required or []) - {*mapping, self.consent_field})
            message = f"required fields must be mapped fields or the consent field; unknown: {unknown}"
            problems.append(("required", ValidationError(message, code="unknown_required")))
        for name in ("honeypot_field", "consent_field"):
            if not FIELD_NAME.match(getattr(self, name) or ""):
                problems.append((name, ValidationError("bad field name", code="bad_field")))
        if self.honeypot_field == self.consent_field:
            message = "the honeypot and the consent box need different names"
            problems.append(("honeypot_field", ValidationError(message, code="reserved_field")))
        return problems

    def email_field(self) -> str:
        return next(field for field, target in self.field_map.items() if target == "email")


class InboundSource(models.Model):
    """A system that posts signed webhooks to ``/intake/hooks/<key>``: what it may send and
    the secret its signatures are checked with (kept so HMACs can be recomputed)."""

    class Accepts(models.TextChoices):
        ACTIVITIES = "activities", _("Activities of known people")
        CONTACTS = "contacts", _("Contact upserts")

    key = models.SlugField(_("key"), max_length=50, unique=True, help_text=_("Used in the hook's URL."))
    name = models.CharField(_("name"), max_length=200)
    secret = models.CharField(_("signing secret"), max_length=128)
    previous_secret = models.CharField(_("previous signing secret"), max_length=128, blank=True)
    previous_secret_until = models.DateTimeField(
        _("previous secret valid until"),
        null=True,
        blank=True,
        help_text=_("After a rotation, signatures with the old secret are accepted until then."),
    )
    accepts = models.JSONField(_("accepts"), default=list, help_text=_('"activities" and/or "contacts".'))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["key"]
        verbose_name = _("inbound webhook source")
        verbose_name_plural = _("inbound webhook sources")

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def source(self) -> str:
        return f"hook:{self.key}"

    def secrets_at(self, now: Any) -> list[str]:
        """The secrets a signature may be made with now: the current one, and the previous
        one while its grace period lasts."""
        valid = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            valid.append(self.previous_secret)
        return valid

    def clean(self) -> None:
        accepts = self.accepts
        if not isinstance(accepts, list) or not accepts or not set(accepts) <= set(self.Accepts.values):
            message = f"accepts: one or more of {', '.join(self.Accepts.values)}"
            raise ValidationError({"accepts": ValidationError(message, code="bad_accepts")})
        if len(self.secret) < 16:
            message = "the secret must be at least 16 characters"
            raise ValidationError({"secret": ValidationError(message, code="weak_secret")})


class SeenMessage(models.Model):
    """A signature (or a message id) already accepted from a source, remembered for as long as
    its timestamp would pass the window, so a replay is refused by every server process.
    Swept by the worker once expired."""

    source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "fingerprint"], name="intake_seen_source_fingerprint")
        ]
        indexes = [models.Index(fields=["expires_at"], name="intake_seen_expires")]

    def __str__(self) -> str:
        return f"{self.source_id}: {self.fingerprint[:12]}…"
