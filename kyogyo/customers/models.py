"""One customer record: companies (accounts) and the people at them (contacts)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """A company: the buying group's home, shared by all four teams."""

    class Kind(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        PARTNER = "partner", _("Partner")
        COMPETITOR = "competitor", _("Competitor")

    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=200, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(_("employee count"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code"))
    segment = models.CharField(_("segment"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PROSPECT)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["name"]
        # Imports and the API find companies by name and domain, ignoring case, through the
        # lower-case indexes of the lists' prefix search (account_name_prefix and
        # account_domain_prefix, migration 0006_list_indexes), which serve equality too. Their
        # twins of migration 0004 only made every company written cost two more index entries.
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person. The subject of the journey: one journey per person, first touch to renewal."""

    class Consent(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    email = models.EmailField(_("email"), max_length=254, unique=True, null=True, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    consent = models.CharField(_("consent"), max_length=10, choices=Consent.choices, default=Consent.UNKNOWN)
    source = models.CharField(_("source"), max_length=60, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    # Scores are maintained by kyogyo.scoring; engagement decays from engagement_at.
    fit_score = models.SmallIntegerField(_("fit score"), default=0)
    engagement_score = models.FloatField(_("engagement score"), default=0.0)
    engagement_at = models.DateTimeField(_("engagement scored at"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity at"), null=True, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created at"))
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or f"#{self.pk}"

    @property
    def email_domain(self) -> str:
        if not self.email or "@" not in self.email:
            return ""
        return self.email.rsplit("@", 1)[1].lower()


class ConsentRecord(models.Model):
    """One consent given or withdrawn: by whom, through what, when, and the wording the
    person saw. Append-only (like the transition log): the contact's ``consent`` field is
    the current state, these rows are the evidence behind it."""

    class State(models.TextChoices):
        GRANTED = "granted", _("Granted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.PROTECT,
        related_name="consent_records",
        db_index=False,  # the (contact, occurred_at) index serves contact lookups
    )
    state = models.CharField(_("consent"), max_length=10, choices=State.choices)
    source = models.CharField(
        _("source"), max_length=60, help_text=_("Where it came from, e.g. form:contact-us, hook:crm, import.")
    )
    wording = models.TextField(_("consent wording"), blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    form = models.ForeignKey(
        "intake.Form",
        verbose_name=_("website form"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    inbound_source = models.ForeignKey(
        "intake.InboundSource",
        verbose_name=_("inbound webhook source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["contact", "occurred_at", "id"]
        indexes = [models.Index(fields=["contact", "occurred_at"], name="consent_contact_time")]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.state} via {self.source} @ {self.occurred_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValidationError(_("Consent records are append-only and cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        raise ValidationError(_("Consent records are append-only and cannot be deleted."))


class SuppressedIdentity(models.Model):
    """Someone erased at their request: kept only as a one-way digest of the e-mail address,
    so a later import, form or API call cannot silently create them again."""

    digest = models.CharField(_("address digest"), max_length=64, unique=True)
    erased_at = models.DateTimeField(_("erased at"))
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("erased by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("suppressed identity")
        verbose_name_plural = _("suppressed identities")

    def __str__(self) -> str:
        return f"{self.digest[:12]}… ({self.erased_at:%Y-%m-%d})"


NOTE_MAX_LENGTH = 4000


class Note(models.Model):
    """A note on a person's or a company's record, by anyone of the four teams; ``@username``
    in the body mentions a colleague (kept in ``mentions`` so their home can list them)."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="notes",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notes",
        db_index=False,  # the (contact, created_at) index serves contact lookups
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notes",
        db_index=False,  # the (account, created_at) index serves account lookups
    )
    body = models.TextField(_("note"), max_length=NOTE_MAX_LENGTH)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("mentioned"), blank=True, related_name="mentioned_in"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "created_at"], name="note_contact_time"),
            models.Index(fields=["account", "created_at"], name="note_account_time"),
        ]
        constraints = [
            # on a person or on a company, never both and never neither
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False, account__isnull=True)
                | models.Q(contact__isnull=True, account__isnull=False),
                name="note_one_subject",
            ),
        ]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return f"{self.author_id} @ {self.created_at:%Y-%m-%d}: {self.body[:40]}"
