"""kyogyo serve: the web app on a production-grade WSGI server (waitress)."""

from __future__ import annotations

import gc

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve the web app (admin and login for now) on HOST:PORT (default 127.0.0.1:8000)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="HOST:PORT to listen on (default 127.0.0.1:8000)"
        )
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")

    def handle(self, *args, **options) -> None:
        from waitress import serve

        from kyogyo.wsgi import application

        host, sep, port = options["addr"].rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise CommandError(f"--addr must be HOST:PORT, got {options['addr']!r}")
        _freeze_the_loaded_app()
        self.stdout.write(f"Kyogyo is running at http://{host}:{port}/ — press Ctrl+C to stop.")
        serve(application, host=host.strip("[]"), port=int(port), threads=options["threads"])


def _freeze_the_loaded_app() -> None:
    """Load the URLs (and with them every view and API schema) now rather than on the first
    request, then move everything loaded so far out of the garbage collector's sight: it lives
    as long as the server, yet each full collection — triggered every few requests by a bulk
    write's many short-lived objects — would otherwise walk all of it again."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf)
    gc.collect()
    gc.freeze()
