"""kyogyo init: prepare the configured database. Safe to run again at any time."""

from __future__ import annotations

import getpass

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.ops import schedules
from kyogyo.ops.defaults import install_defaults
from kyogyo.org.models import User


class Command(BaseCommand):
    help = (
        "Prepare the database: apply migrations, install the default teams, stages, reason codes, "
        "rules and scoring (keeping anything already edited), register the scheduled jobs and "
        "create the first admin user. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--admin-username", default="admin", help="username of the first admin (default: admin)"
        )
        parser.add_argument("--admin-email", default="", help="email of the first admin")
        parser.add_argument(
            "--admin-password",
            help="password of the first admin; prompted for when omitted and a terminal is attached",
        )
        parser.add_argument(
            "--no-input", action="store_true", help="never prompt; skip the admin user without a password"
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        created = install_defaults()
        schedules.register()
        if verbosity:
            summary = ", ".join(f"{n} {kind}" for kind, n in created.items() if n) or "nothing new"
            self.stdout.write(f"Defaults installed: {summary}.")
        self._ensure_admin(options)

    def _ensure_admin(self, options: dict) -> None:
        username = options["admin_username"]
        if User.objects.filter(is_superuser=True).exists():
            if options["verbosity"]:
                self.stdout.write("An admin user exists already; left as it is.")
            return
        password = options["admin_password"]
        if password is None and not options["no_input"]:
            password = self._prompt_password()
        if not password:
            self.stdout.write(
                self.style.WARNING(
                    "No admin user created: pass --admin-password, or run `kyogyo init` in a terminal."
                )
            )
            return
        User.objects.create_superuser(
            username=username,
            email=options["admin_email"],
            password=password,
            role=User.Role.ADMIN,
        )
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Admin user {username!r} created."))

    def _prompt_password(self) -> str | None:
        try:
            first = getpass.getpass("Password for the first admin: ")
            second = getpass.getpass("Again: ")
        except (EOFError, KeyboardInterrupt):
            return None
        if first != second:
            raise CommandError("The two passwords differ; nothing was created.")
        return first or None
