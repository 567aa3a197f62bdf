"""kyogyo intake: website forms (add, list, enable/disable, an HTML snippet) and inbound
webhook sources (add, list, enable/disable, rotate the secret)."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.intake import actions
from kyogyo.intake.models import (
    ACCOUNT_TARGETS,
    CONTACT_TARGETS,
    DEFAULT_FIELD_MAP,
    REDIRECT_FIELD,
    Form,
    InboundSource,
)
from kyogyo.intake.visitors import origin_of_url
from kyogyo.marketing.models import Campaign


class Command(BaseCommand):
    help = (
        "Website forms and inbound webhooks. "
        "`forms add KEY --origin URL [--field NAME=TARGET …]`, `forms list`, `forms enable|disable KEY`, "
        "`forms snippet KEY --base-url URL` (an HTML form to paste into a page); "
        "`hooks add KEY --accepts activities,contacts` (prints the signing secret), `hooks list`, "
        "`hooks enable|disable KEY`, `hooks rotate-secret KEY [--grace-minutes N]`. "
        f"Field targets: {', '.join([*CONTACT_TARGETS, *ACCOUNT_TARGETS])}, payload.NAME."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", required=True, metavar="forms|hooks")
        self._form_arguments(groups.add_parser("forms", help="website forms"))
        self._hook_arguments(groups.add_parser("hooks", help="inbound webhook sources"))

    def _form_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = sub.add_parser("add", help="add a form; prints its URL path")
        add.add_argument("key", help="the form's key, used in its URL (letters, digits, - and _)")
        add.add_argument("--name", default="", help="a name for people (default: the key)")
        add.add_argument(
            "--origin",
            action="append",
            required=True,
            help="a website the form may be posted from, e.g. https://www.example.com (repeat for more)",
        )
        default = " ".join(f"{k}={v}" for k, v in DEFAULT_FIELD_MAP.items())
        add.add_argument(
            "--field",
            action="append",
            metavar="NAME=TARGET",
            help=f"a form field and what it fills in (repeat; default: {default})",
        )
        add.add_argument("--required", help="comma-separated required fields (default: the email field)")
        add.add_argument("--activity", choices=Form.Kind.values, default=Form.Kind.FORM_SUBMISSION)
        add.add_argument("--campaign", type=int, help="id of the campaign fills are credited to")
        add.add_argument("--consent-wording", default="", help="the text shown beside the consent box")
        add.add_argument(
            "--consent-field", default="consent", help="name of the consent box (default consent)"
        )
        add.add_argument(
            "--honeypot", default="homepage", help="name of the hidden trap field (default homepage)"
        )
        add.add_argument("--rate-limit", type=int, default=10, help="fills per client address per window")
        add.add_argument(
            "--rate-window", type=int, default=3600, help="the window, in seconds (default 3600)"
        )
        listing = sub.add_parser("list", help="the forms")
        listing.add_argument("--format", choices=["text", "json"], default="text")
        for name, what in (("enable", "switch a form on"), ("disable", "switch a form off (fills get 404)")):
            sub.add_parser(name, help=what).add_argument("key")
        snippet = sub.add_parser("snippet", help="print an HTML form for the page")
        snippet.add_argument("key")
        snippet.add_argument(
            "--base-url", required=True, help="where Kyogyo is served, e.g. https://crm.example.com"
        )
        snippet.add_argument(
            "--redirect", default="", help="a thank-you page on the website (303 after a fill)"
        )

    def _hook_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = sub.add_parser("add", help="add a source; prints its URL path and signing secret")
        add.add_argument("key", help="the source's key, used in its URL")
        add.add_argument("--name", default="", help="a name for people (default: the key)")
        add.add_argument(
            "--accepts",
            required=True,
            help=f"comma-separated: {', '.join(InboundSource.Accepts.values)}",
        )
        add.add_argument("--secret", help="signing secret (at least 16 characters); generated if omitted")
        listing = sub.add_parser("list", help="the sources")
        listing.add_argument("--format", choices=["text", "json"], default="text")
        for name, what in (
            ("enable", "switch a source on"),
            ("disable", "switch a source off (posts get 404)"),
        ):
            sub.add_parser(name, help=what).add_argument("key")
        rotate = sub.add_parser("rotate-secret", help="give a source a new secret; prints it")
        rotate.add_argument("key")
        rotate.add_argument(
            "--grace-minutes",
            type=int,
            default=0,
            help="keep accepting the old secret this long (default 0: it stops at once)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"{options['group']}_{options['action'].replace('-', '_')}")(options)
        except actions.IntakeError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc

    # ------------------------------------------------------------------ forms

    def _form(self, key: str) -> Form:
        form = Form.objects.filter(key=key).first()
        if form is None:
            raise CommandError(f"no_form: there is no form {key!r}")
        return form

    def forms_add(self, options: dict[str, Any]) -> None:
        field_map = None
        if options["field"]:
            field_map = {}
            for pair in options["field"]:
                name, sep, target = pair.partition("=")
                if not sep or not name.strip() or not target.strip():
                    raise CommandError(f"bad_field: --field takes NAME=TARGET, got {pair!r}")
                field_map[name.strip()] = target.strip()
        campaign = None
        if options["campaign"] is not None:
            campaign = Campaign.objects.filter(pk=options["campaign"]).first()
            if campaign is None:
                raise CommandError(f"no_campaign: there is no campaign {options['campaign']}")
        required = None
        if options["required"] is not None:
            required = [r.strip() for r in options["required"].split(",") if r.strip()]
        form = actions.create_form(
            options["key"],
            name=options["name"],
            allowed_origins=options["origin"],
            field_map=field_map,
            required=required,
            activity_type=options["activity"],
            campaign=campaign,
            consent_wording=options["consent_wording"],
            consent_field=options["consent_field"],
            honeypot_field=options["honeypot"],
            rate_limit=options["rate_limit"],
            rate_window=options["rate_window"],
        )
        self.stdout.write(
            f"Form {form.key}: POST /intake/forms/{form.key} from {', '.join(form.allowed_origins)}"
        )
        self.stdout.write(f"Fields: {', '.join(f'{k} → {v}' for k, v in form.field_map.items())}")

    def forms_list(self, options: dict[str, Any]) -> None:
        rows = [
            {
                "key": f.key,
                "name": f.name,
                "active": f.active,
                "allowed_origins": f.allowed_origins,
                "fields": f.field_map,
                "required": f.required,
                "activity_type": f.activity_type,
                "campaign_id": f.campaign_id,
                "consent_wording": f.consent_wording,
                "rate_limit": f.rate_limit,
                "rate_window": f.rate_window,
            }
            for f in Form.objects.all()
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for row in rows:
            state = "on " if row["active"] else "off"
            limit = f"{row['rate_limit']}/{row['rate_window']}s"
            self.stdout.write(
                f"{row['key']:<24} {state} {row['activity_type']:<16} {limit:<10} {', '.join(row['allowed_origins'])}"
            )

    def forms_enable(self, options: dict[str, Any]) -> None:
        actions.set_form_active(self._form(options["key"]), True)
        self.stdout.write(f"Form {options['key']} is on.")

    def forms_disable(self, options: dict[str, Any]) -> None:
        actions.set_form_active(self._form(options["key"]), False)
        self.stdout.write(f"Form {options['key']} is off; its fills are refused (404).")

    def forms_snippet(self, options: dict[str, Any]) -> None:
        form = self._form(options["key"])
        redirect = options["redirect"]
        if redirect and origin_of_url(redirect) not in form.allowed_origins:
            raise CommandError(f"redirect_not_allowed: {redirect!r} is not on one of the form's origins")
        self.stdout.write(form_snippet(form, options["base_url"], redirect))

    # ------------------------------------------------------------------ hooks

    def _source(self, key: str) -> InboundSource:
        source = InboundSource.objects.filter(key=key).first()
        if source is None:
            raise CommandError(f"no_source: there is no inbound source {key!r}")
        return source

    def hooks_add(self, options: dict[str, Any]) -> None:
        source = actions.create_inbound_source(
            options["key"],
            name=options["name"],
            accepts=options["accepts"].split(","),
            secret=options["secret"],
        )
        self.stdout.write(
            f"Source {source.key}: POST /intake/hooks/{source.key} ({', '.join(source.accepts)})"
        )
        self.stdout.write(f"Secret (keep it; the sender signs with it): {source.secret}")

    def hooks_list(self, options: dict[str, Any]) -> None:
        rows = [
            {"key": s.key, "name": s.name, "accepts": s.accepts, "active": s.active}
            for s in InboundSource.objects.all()
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for row in rows:
            state = "on " if row["active"] else "off"
            self.stdout.write(f"{row['key']:<24} {state} [{', '.join(row['accepts'])}] {row['name']}")

    def hooks_enable(self, options: dict[str, Any]) -> None:
        actions.set_source_active(self._source(options["key"]), True)
        self.stdout.write(f"Source {options['key']} is on.")

    def hooks_disable(self, options: dict[str, Any]) -> None:
        actions.set_source_active(self._source(options["key"]), False)
        self.stdout.write(f"Source {options['key']} is off; its posts are refused (404).")

    def hooks_rotate_secret(self, options: dict[str, Any]) -> None:
        if options["grace_minutes"] < 0:
            raise CommandError("bad_grace: --grace-minutes cannot be negative")
        grace = dt.timedelta(minutes=options["grace_minutes"])
        source = actions.rotate_source_secret(self._source(options["key"]), grace=grace)
        self.stdout.write(f"New secret for source {source.key}: {source.secret}")
        if source.previous_secret_until:
            self.stdout.write(
                f"The old secret is accepted until {source.previous_secret_until:%Y-%m-%d %H:%M %Z}."
            )


LABELS = {
    "email": ("Email", "email"),
    "first_name": ("First name", "text"),
    "last_name": ("Last name", "text"),
    "title": ("Job title", "text"),
    "phone": ("Phone", "tel"),
    "account.name": ("Company", "text"),
    "account.domain": ("Company website", "text"),
    "account.industry": ("Industry", "text"),
    "account.employee_count": ("Employees", "text"),
    "account.country": ("Country (ISO code)", "text"),
}


def form_snippet(form: Form, base_url: str, redirect: str = "") -> str:
    """A plain HTML form for ``form`` (no script needed; a script may post the same fields)."""
    action = f"{base_url.rstrip('/')}/intake/forms/{form.key}"
    lines = [f'<form method="post" action="{html.escape(action)}">']
    for name, target in form.field_map.items():
        label, kind = LABELS.get(
            target, (target.removeprefix("payload.").replace("_", " ").capitalize(), "text")
        )
        required = " required" if name in form.required else ""
        lines.append(
            f'  <label>{html.escape(label)} <input type="{kind}" name="{html.escape(name)}"{required}></label>'
        )
    if form.consent_wording:
        required = " required" if form.consent_field in form.required else ""
        lines.append(
            f'  <label><input type="checkbox" name="{html.escape(form.consent_field)}"{required}> '
            f"{html.escape(form.consent_wording)}</label>"
        )
    lines.append(
        "  <!-- leave this trap hidden and empty: only robots fill it in -->\n"
        f'  <input type="text" name="{html.escape(form.honeypot_field)}" tabindex="-1" autocomplete="off"'
        ' style="position:absolute;left:-10000px" aria-hidden="true">'
    )
    if redirect:
        lines.append(f'  <input type="hidden" name="{REDIRECT_FIELD}" value="{html.escape(redirect)}">')
    lines.append('  <button type="submit">Send</button>')
    lines.append("</form>")
    return "\n".join(lines)
