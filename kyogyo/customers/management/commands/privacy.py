"""kyogyo privacy: what is held about one person, erasing it, and the suppression list."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.customers.models import Contact
from kyogyo.customers.privacy import erase_person, is_suppressed, person_data


class Command(BaseCommand):
    help = (
        "Personal-data rights (APPI / GDPR). `privacy export --email X` prints everything held "
        "about one person as JSON. `privacy erase --email X --yes` erases their personal data "
        "from the records, history notes, survey comments, webhook bodies, API replay records, "
        "the admin log and the import files, keeps them as an anonymous subject so every "
        "aggregate stays right, and puts a digest of the address on the suppression list so "
        "no import, form or API call re-creates them. `privacy suppressed --email X` says "
        "whether an address is on that list. See docs/privacy.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
        export = sub.add_parser("export", help="everything held about one person, as JSON")
        export.add_argument("--email", required=True)
        export.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
        erase = sub.add_parser("erase", help="erase one person's personal data")
        erase.add_argument("--email", required=True)
        erase.add_argument("--reason", default="", help="why (kept with the erasure record)")
        erase.add_argument("--yes", action="store_true", help="do not ask")
        suppressed = sub.add_parser("suppressed", help="is this address on the suppression list?")
        suppressed.add_argument("--email", required=True)

    def handle(self, *args, **options) -> None:
        email = options["email"].strip().lower()
        if options["what"] == "suppressed":
            self.stdout.write("suppressed" if is_suppressed(email) else "not suppressed")
            return
        contact = Contact.objects.select_related("account").filter(email=email).first()
        if contact is None:
            raise CommandError(f"no person with the address {email!r}")
        if options["what"] == "export":
            text = json.dumps(person_data(contact), indent=2, ensure_ascii=False, default=str)
            if options["output"]:
                options["output"].write_text(text + "\n", encoding="utf-8")
                self.stdout.write(f"Written to {options['output']}.")
            else:
                self.stdout.write(text)
            return
        if not options["yes"]:
            try:
                answer = input(
                    f"Erase the personal data of {email} (person {contact.pk})? This cannot be undone. [y/N] "
                )
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("not erased (give --yes to erase without asking)")
        result = erase_person(contact, actor=None, reason=options["reason"])
        details = ", ".join(f"{count} {what}" for what, count in result.scrubbed.items() if count)
        self.stdout.write(
            f"Erased person {result.contact_id}: {details or 'no copies elsewhere'}; the address is suppressed."
        )
