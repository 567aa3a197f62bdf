"""kyogyo webhooks: add, list, switch on/off outbound webhook endpoints, send due deliveries
and read the delivery log."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.ops.outage import said_plainly
from kyogyo.webhooks import actions
from kyogyo.webhooks.delivery import deliver_due
from kyogyo.webhooks.models import Delivery, Endpoint


class Command(BaseCommand):
    help = (
        "Outbound webhooks: `add URL --events …`, `list`, `enable ID`, `disable ID`, `rotate-secret ID`, "
        "`deliver` (send due deliveries now), `log` (the delivery log) and `retry DELIVERY_ID`. "
        f"Event types: {', '.join(actions.EVENT_TYPES)} (or * for all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = sub.add_parser("add", help="add an endpoint; prints its id and signing secret")
        add.add_argument("url")
        add.add_argument("--events", required=True, help="comma-separated event types, or * for all")
        add.add_argument("--secret", help="signing secret (at least 16 characters); generated if omitted")
        add.add_argument("--description", default="")
        listing = sub.add_parser("list", help="the endpoints")
        listing.add_argument("--format", choices=["text", "json"], default="text")
        for name, what in (("enable", "switch an endpoint on"), ("disable", "switch an endpoint off")):
            sub.add_parser(name, help=what).add_argument("id", type=int)
        sub.add_parser("rotate-secret", help="give an endpoint a new secret; prints it").add_argument(
            "id", type=int
        )
        deliver = sub.add_parser("deliver", help="send the deliveries that are due now")
        deliver.add_argument("--limit", type=int, default=100)
        log = sub.add_parser("log", help="the delivery log, newest first")
        log.add_argument("--endpoint", type=int)
        log.add_argument("--status", choices=Delivery.Status.values)
        log.add_argument("--limit", type=int, default=20)
        log.add_argument("--format", choices=["text", "json"], default="text")
        sub.add_parser("retry", help="send a failed delivery again").add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "do_" + options["action"].replace("-", "_"))(options)
        except actions.WebhookError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc

    def _endpoint(self, pk: int) -> Endpoint:
        endpoint = Endpoint.objects.filter(pk=pk).first()
        if endpoint is None:
            raise CommandError(f"no_endpoint: there is no webhook endpoint {pk}")
        return endpoint

    def do_add(self, options: dict[str, Any]) -> None:
        endpoint = actions.create_endpoint(
            options["url"],
            options["events"].split(","),
            secret=options["secret"],
            description=options["description"],
        )
        self.stdout.write(f"Endpoint {endpoint.pk}: {endpoint.url} ({', '.join(endpoint.events)})")
        self.stdout.write(f"Secret (keep it; receivers verify signatures with it): {endpoint.secret}")

    def do_list(self, options: dict[str, Any]) -> None:
        rows = [
            {"id": e.pk, "url": e.url, "events": e.events, "active": e.active, "description": e.description}
            for e in Endpoint.objects.all()
        ]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            state = "on " if row["active"] else "off"
            self.stdout.write(f"{row['id']:>4} {state} {row['url']}  [{', '.join(row['events'])}]")

    def do_enable(self, options: dict[str, Any]) -> None:
        actions.update_endpoint(self._endpoint(options["id"]), active=True, resolver=None)
        self.stdout.write(f"Endpoint {options['id']} is on.")

    def do_disable(self, options: dict[str, Any]) -> None:
        actions.update_endpoint(self._endpoint(options["id"]), active=False, resolver=None)
        self.stdout.write(f"Endpoint {options['id']} is off; its pending deliveries wait.")

    def do_rotate_secret(self, options: dict[str, Any]) -> None:
        endpoint = actions.update_endpoint(self._endpoint(options["id"]), rotate_secret=True, resolver=None)
        self.stdout.write(f"New secret for endpoint {endpoint.pk}: {endpoint.secret}")

    def do_deliver(self, options: dict[str, Any]) -> None:
        then = "a delivery whose outcome was not recorded is sent again after its lease (at least once)"
        with said_plainly(then):
            run = deliver_due(limit=options["limit"])
        self.stdout.write(f"Delivered: {run.delivered}, to retry: {run.retrying}, given up: {run.failed}")
        for error in run.errors:
            self.stderr.write(error)

    def do_log(self, options: dict[str, Any]) -> None:
        rows = Delivery.objects.order_by("-pk")
        if options["endpoint"]:
            rows = rows.filter(endpoint_id=options["endpoint"])
        if options["status"]:
            rows = rows.filter(status=options["status"])
        fields = (
            "id",
            "endpoint_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "response_code",
            "response_ms",
            "error",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
        )
        data = list(rows.values(*fields)[: max(options["limit"], 0)])
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        for d in data:
            code = d["response_code"] or "-"
            self.stdout.write(
                f"{d['id']:>6} {d['event_type']:<22} → {d['endpoint_id']:<4} {d['status']:<9} "
                f"attempts {d['attempts']}, HTTP {code} {d['error']}".rstrip()
            )

    def do_retry(self, options: dict[str, Any]) -> None:
        delivery = Delivery.objects.filter(pk=options["id"]).first()
        if delivery is None:
            raise CommandError(f"no_delivery: there is no delivery {options['id']}")
        actions.retry_delivery(delivery)
        self.stdout.write(f"Delivery {delivery.pk} will be sent at the next run.")
