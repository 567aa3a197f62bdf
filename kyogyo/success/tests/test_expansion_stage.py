"""The "expansion" stage reaches companies set up before it existed (journey migration 0006)."""

from __future__ import annotations

import importlib

from django.apps import apps

from kyogyo.journey.models import Stage

migration = importlib.import_module("kyogyo.journey.migrations.0007_expansion_stage")


def test_the_migration_adds_the_stage_and_its_exits(defaults):
    Stage.objects.get(key="expansion").delete()
    migration.add_expansion_stage(apps, None)
    stage = Stage.objects.get(key="expansion")
    assert stage.team.key == "customer_success" and stage.hands_to.key == "field_sales"
    assert stage.accept_to.key == "active"
    assert set(stage.exits.values_list("key", flat=True)) == {"active", "renewed", "expanded", "churned"}
    for key in ("active", "renewed", "expanded"):
        assert Stage.objects.get(key=key).exits.filter(key="expansion").exists()
    migration.add_expansion_stage(apps, None)  # idempotent
    assert Stage.objects.filter(key="expansion").count() == 1


def test_a_fresh_database_is_left_to_the_defaults(db):
    migration.add_expansion_stage(apps, None)
    assert not Stage.objects.exists()
