"""Building the demo company: staff, campaigns and routing first, then every person's
story through the chosen driver."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from kyogyo.audit.context import recorded_as
from kyogyo.customers.models import Account, Contact
from kyogyo.demo import scenario
from kyogyo.handoffs.models import RoutingRule
from kyogyo.journey.models import ValueList
from kyogyo.marketing.models import Campaign
from kyogyo.ops.defaults import install_defaults
from kyogyo.org.models import Team, User

DEMO_PASSWORD = "demo"
Progress = Callable[[int, int], None]


class DemoError(RuntimeError):
    pass


@dataclass
class DemoResult:
    people: int
    seconds: float
    driver: str
    counts: dict[str, int]


def prepare(
    seed: int, people: int, end: dt.date
) -> tuple[list[tuple[int, scenario.CampaignSpec]], dict[str, list[int]]]:
    """Staff, campaigns, competitor domains and the coverage routing rule (idempotent)."""
    install_defaults()
    teams = {t.key: t for t in Team.objects.all()}
    password = make_password(DEMO_PASSWORD)
    staff: dict[str, list[int]] = {}
    with transaction.atomic():
        for spec in scenario.users(people):
            user, _ = User.objects.get_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "team": teams[spec.team],
                    "role": spec.role,
                    "password": password,
                    "email": f"{spec.username}@kyogyo-demo.example",
                },
            )
            if spec.role == "member":
                staff.setdefault(spec.team, []).append(user.pk)
        campaign_ids = []
        for campaign_spec in scenario.campaigns(seed, end):
            campaign, _ = Campaign.objects.get_or_create(
                name=campaign_spec.name,
                defaults={
                    "channel": campaign_spec.channel,
                    "starts_on": campaign_spec.starts_on,
                    "ends_on": campaign_spec.ends_on,
                },
            )
            campaign_ids.append((campaign.pk, campaign_spec))
        competitors = ValueList.objects.get(key="competitor_domains")
        competitors.values = sorted(set(competitors.values) | set(scenario.COMPETITORS))
        competitors.save(update_fields=["values"])
        enterprise, created = RoutingRule.objects.get_or_create(
            team=teams[Team.FIELD_SALES],
            name="Enterprise accounts (1,000+ employees)",
            defaults={
                "priority": 10,
                "condition": {"field": "account.employee_count", "op": "gte", "value": 1000},
            },
        )
        if created:
            enterprise.users.set(staff[Team.FIELD_SALES][:2])
    return campaign_ids, staff


@recorded_as("demo")  # invented records, not changes: no history (see kyogyo/audit/context.py)
def build(
    *,
    seed: int,
    people: int,
    end: dt.date,
    driver: str = "bulk",
    reset: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """Build the company. ``driver`` "bulk" plans rows in memory and writes them in bulk,
    simulating shards in ``workers`` processes (default: one per CPU for big companies);
    "actions" calls every action one by one. Both write the same rows."""
    if reset:
        wipe_customer_data()
    existing = Contact.objects.count()
    if existing:
        raise DemoError(
            f"the database already holds {existing:,} people; run with --reset to remove all customer "
            "data first (this cannot be undone), or point KYOGYO_DATA_DIR/DATABASE_URL at a new database"
        )
    started = time.monotonic()
    campaign_ids, staff = prepare(seed, people, end)
    company = scenario.Company(seed, people, end)
    if driver == "actions":
        from kyogyo.demo.drivers import ActionDriver

        engine = ActionDriver()
        scenario.Story(company, engine, campaign_ids, staff).run(progress)
        engine.finish(timezone.now())
    else:
        from kyogyo.demo.loader import Loader

        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if people >= 20_000 else 1
        Loader(company, campaign_ids, staff, workers=workers).load(timezone.now(), progress)
    return DemoResult(people, time.monotonic() - started, driver, counts())


def counts() -> dict[str, int]:
    from kyogyo.deals.models import Deal
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.models import Transition
    from kyogyo.marketing.models import Activity
    from kyogyo.success.models import NpsResponse, Subscription

    return {
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "activities": Activity.objects.count(),
        "transitions": Transition.objects.count(),
        "handoffs": Handoff.objects.count(),
        "deals": Deal.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "nps_answers": NpsResponse.objects.count(),
    }


CUSTOMER_TABLES = [
    "success_npsresponse",
    "success_subscriptionchange",
    "success_subscription",
    "handoffs_handoff",
    "journey_milestone",
    "journey_transition",
    "deals_dealmove",
    "deals_deal",
    "marketing_activity",
    "customers_contact",
    "customers_account",
    "handoffs_routingcursor",
]


def wipe_customer_data() -> None:
    """Remove every customer record and the journey log (configuration and users stay)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(CUSTOMER_TABLES)} RESTART IDENTITY CASCADE")
        else:
            for table in CUSTOMER_TABLES:
                cursor.execute(f"DELETE FROM {table}")
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
