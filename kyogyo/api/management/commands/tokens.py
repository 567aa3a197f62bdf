"""kyogyo tokens: create, list and revoke personal API tokens (run by an operator, so the
command acts as an admin)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.api import actions
from kyogyo.api.models import ApiToken
from kyogyo.org.models import User


class Command(BaseCommand):
    help = (
        "Personal API tokens: `create --user USERNAME --name NAME [--scope read|write]` prints the token "
        "(shown once), `list [--user USERNAME]`, `revoke ID`. A token acts as its user, with that user's "
        "permissions; see docs/api.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = sub.add_parser("create", help="create a token; prints it once")
        create.add_argument("--user", required=True, help="username the token acts as")
        create.add_argument("--name", required=True, help="what the token is for, e.g. 'website sync'")
        create.add_argument("--scope", choices=ApiToken.Scope.values, default=ApiToken.Scope.READ)
        create.add_argument("--format", choices=["text", "json"], default="text")
        listing = sub.add_parser("list", help="the tokens (never their secrets)")
        listing.add_argument("--user", help="only this user's")
        listing.add_argument("--format", choices=["text", "json"], default="text")
        sub.add_parser("revoke", help="revoke a token at once").add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "do_" + options["action"])(options)
        except actions.TokenError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no_user: there is no user {username!r}")
        if not user.is_active:
            raise CommandError(f"inactive_user: {username!r} is not active")
        return user

    def do_create(self, options: dict[str, Any]) -> None:
        owner = self._user(options["user"])
        token, plain = actions.create_token(
            owner, name=options["name"], scope=options["scope"], actor=_operator()
        )
        if options["format"] == "json":
            self.stdout.write(
                json.dumps({"id": token.pk, "token": plain, "scope": token.scope, "user": owner.username})
            )
            return
        self.stdout.write(
            f"Token {token.pk} for {owner.username} ({token.scope}). Keep it safe; it is not shown again:"
        )
        self.stdout.write(plain)

    def do_list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("pk")
        if options["user"]:
            tokens = tokens.filter(user=self._user(options["user"]))
        rows = [
            {
                "id": t.pk,
                "user": t.user.username,
                "name": t.name,
                "prefix": t.prefix,
                "scope": t.scope,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
            }
            for t in tokens
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows))
            return
        if not rows:
            self.stdout.write("No tokens yet: kyogyo tokens create --user USERNAME --name NAME")
        for row in rows:
            state = "revoked" if row["revoked_at"] else f"last used {row['last_used_at'] or 'never'}"
            self.stdout.write(
                f"{row['id']:>5}  {row['user']:<20} {row['scope']:<5}  kyg_{row['prefix']}_…  {row['name']}  ({state})"
            )

    def do_revoke(self, options: dict[str, Any]) -> None:
        token = ApiToken.objects.select_related("user").filter(pk=options["id"]).first()
        if token is None:
            raise CommandError(f"no_token: there is no token {options['id']}")
        actions.revoke_token(token, actor=_operator())
        self.stdout.write(f"Token {token.pk} ({token.name}) of {token.user.username} revoked.")


def _operator() -> User:
    # Whoever runs the command on the server has the server: act with an admin's rights.
    return User(role=User.Role.ADMIN, is_active=True, is_superuser=True)
