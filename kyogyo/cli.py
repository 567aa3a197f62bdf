"""The ``kyogyo`` console command: Django's management commands with our settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyogyo.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["kyogyo", *argv])
    args[0] = "kyogyo"
    from kyogyo.audit.context import origin

    with origin("cli", label=" ".join(args[1:2])):  # the history says which command wrote
        execute_from_command_line(args)


if __name__ == "__main__":
    main()
