"""The "expansion" stage of the default stage model (Customer Success hands an upsell back to
Field Sales, kyogyo/success) for companies set up before it existed: added, with the exits
into it from active, renewed and expanded, where those default stages are present. A new
company gets it from ``ops.defaults.install_defaults`` (which runs after the migrations)."""

from django.db import migrations
from django.db.models import F

INTO = ("active", "renewed", "expanded")
OUT = ("active", "renewed", "expanded", "churned")


def add_expansion_stage(apps, schema_editor):
    Stage = apps.get_model("journey", "Stage")
    Team = apps.get_model("org", "Team")
    if Stage.objects.filter(key="expansion").exists() or not Stage.objects.filter(key="active").exists():
        return
    cs = Team.objects.filter(key="customer_success").first()
    fs = Team.objects.filter(key="field_sales").first()
    if cs is None or fs is None:
        return
    churned = Stage.objects.filter(key="churned").first()
    order = churned.order + 1 if churned else Stage.objects.count()
    Stage.objects.filter(order__gte=order).update(order=F("order") + 1)
    stage = Stage.objects.create(
        key="expansion",
        name="Expansion opportunity",
        name_ja="拡大商談",
        order=order,
        category="outcome",
        team=cs,
        hands_to=fs,
        accept_to=Stage.objects.get(key="active"),
        sla_hours=16,
        meaning="Customer Success hands an upsell / cross-sell back to Field Sales, who open an expansion deal.",
    )
    stage.exits.set(Stage.objects.filter(key__in=OUT))
    for source in Stage.objects.filter(key__in=INTO):
        source.exits.add(stage)


class Migration(migrations.Migration):
    dependencies = [("journey", "0006_playbook"), ("org", "0001_initial")]

    operations = [migrations.RunPython(add_expansion_stage, migrations.RunPython.noop)]
