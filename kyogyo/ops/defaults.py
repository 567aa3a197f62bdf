"""The default configuration of a new company: the four teams, The Model's stage model,
reason codes, stage rules, scoring, pipeline stages and the business calendar.

``install_defaults`` is idempotent: it creates what is missing and never overwrites
what an admin has edited (names, SLAs, rule versions)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from kyogyo.deals.models import PipelineStage
from kyogyo.handoffs.models import BusinessCalendar
from kyogyo.journey import criteria
from kyogyo.journey.models import ReasonCode, Rule, RuleVersion, Stage, ValueList
from kyogyo.journey.playbook import install_playbook
from kyogyo.org.models import Team
from kyogyo.scoring.models import EngagementWeight, FitRule, ScoringSettings

TEAMS = [
    (Team.MARKETING, "Marketing", "マーケティング"),
    (Team.INSIDE_SALES, "Inside Sales", "インサイドセールス"),
    (Team.FIELD_SALES, "Field Sales", "フィールドセールス"),
    (Team.CUSTOMER_SUCCESS, "Customer Success", "カスタマーサクセス"),
]

M, IS, FS, CS = Team.MARKETING, Team.INSIDE_SALES, Team.FIELD_SALES, Team.CUSTOMER_SUCCESS

# key, name, name_ja, category, team, hands_to, accept_to, sla_hours, stall_days, entry, exits, meaning
STAGES = [
    (
        "lead",
        "Lead",
        "リード",
        "prospect",
        M,
        None,
        None,
        None,
        30,
        True,
        ["mql", "nurture", "disqualified"],
        "Known person, not yet qualified.",
    ),
    (
        "mql",
        "MQL",
        "MQL",
        "prospect",
        M,
        IS,
        "sal",
        8,
        None,
        False,
        ["sal", "nurture", "disqualified", "lead"],
        "Meets the objective fit and engagement criteria; handed to Inside Sales.",
    ),
    (
        "sal",
        "SAL",
        "SAL",
        "prospect",
        IS,
        None,
        None,
        None,
        14,
        False,
        ["sql", "nurture", "disqualified"],
        "Inside Sales accepted the handoff and works the lead.",
    ),
    (
        "sql",
        "SQL",
        "SQL / 商談化",
        "prospect",
        IS,
        FS,
        "opportunity",
        16,
        None,
        False,
        ["opportunity", "sal", "nurture", "disqualified"],
        "Inside Sales qualified a real need; a deal is created and handed to Field Sales.",
    ),
    (
        "opportunity",
        "Opportunity",
        "商談",
        "prospect",
        FS,
        None,
        None,
        None,
        60,
        False,
        ["won", "nurture", "disqualified"],
        "Field Sales accepted; the deal moves through the pipeline.",
    ),
    (
        "won",
        "Won",
        "受注",
        "customer",
        FS,
        CS,
        "onboarding",
        16,
        None,
        False,
        ["onboarding", "opportunity"],
        "Contract signed; handed to Customer Success.",
    ),
    (
        "onboarding",
        "Onboarding",
        "オンボーディング",
        "customer",
        CS,
        None,
        None,
        None,
        45,
        False,
        ["active", "churned"],
        "Customer Success activates the customer.",
    ),
    (
        "active",
        "Active",
        "活用中",
        "customer",
        CS,
        None,
        None,
        None,
        None,
        False,
        ["renewed", "expanded", "churned", "expansion"],
        "Live customer.",
    ),
    (
        "renewed",
        "Renewed",
        "更新",
        "outcome",
        CS,
        None,
        None,
        None,
        None,
        False,
        ["active", "expanded", "churned", "expansion"],
        "Renewed the contract.",
    ),
    (
        "expanded",
        "Expanded",
        "アップセル",
        "outcome",
        CS,
        None,
        None,
        None,
        None,
        False,
        ["active", "renewed", "churned", "expansion"],
        "Grew the contract (upsell / cross-sell).",
    ),
    (
        "churned",
        "Churned",
        "解約",
        "outcome",
        CS,
        None,
        None,
        None,
        None,
        False,
        ["nurture", "onboarding"],
        "Left; may be won back.",
    ),
    (
        "expansion",
        "Expansion opportunity",
        "拡大商談",
        "outcome",
        CS,
        FS,
        "active",
        16,
        None,
        False,
        ["active", "renewed", "expanded", "churned"],
        "Customer Success hands an upsell / cross-sell back to Field Sales, who open an expansion deal.",
    ),
    (
        "nurture",
        "Nurture",
        "ナーチャリング",
        "recycle",
        M,
        None,
        None,
        None,
        None,
        False,
        ["mql", "disqualified"],
        "“Later” (the 65%): Marketing nurtures until the person re-engages.",
    ),
    (
        "disqualified",
        "Disqualified",
        "対象外",
        "exit",
        None,
        None,
        None,
        None,
        None,
        False,
        ["nurture"],
        "“Never” (the 25%): competitor, student, partner, … with a reason.",
    ),
]

# kind, key, label, label_ja, sends_to
REASONS = [
    ("reject", "not_reachable", "Could not reach", "連絡がつかない", "nurture"),
    ("reject", "no_need_now", "No need right now", "現時点でニーズなし", "nurture"),
    ("reject", "no_budget", "No budget", "予算なし", "nurture"),
    ("reject", "not_a_fit", "Not a fit", "対象外の顧客", "disqualified"),
    ("reject", "duplicate", "Duplicate", "重複", "disqualified"),
    ("reject", "incomplete_info", "Incomplete information — back to sender", "情報不足（差し戻し）", None),
    ("disqualify", "competitor", "Competitor", "競合", None),
    ("disqualify", "free_mail", "Free-mail address", "フリーメール", None),
    ("disqualify", "student", "Student", "学生", None),
    ("disqualify", "partner", "Partner", "パートナー", None),
    ("disqualify", "invalid_data", "Invalid data", "不正なデータ", None),
    ("loss", "no_decision", "No decision (do nothing)", "意思決定なし（現状維持）", "nurture"),
    ("loss", "price", "Price", "価格", "nurture"),
    ("loss", "competitor_chosen", "Chose a competitor", "競合を選択", "nurture"),
    ("loss", "timing", "Timing", "タイミング", "nurture"),
    ("loss", "feature_gap", "Missing features", "機能不足", "nurture"),
    ("loss", "no_fit", "Not a fit", "適合しない", "disqualified"),
    ("loss", "not_accepted", "Not accepted by Field Sales", "フィールドセールスが受け入れず", None),
]

FREE_MAIL = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.jp",
    "ymail.com",
    "outlook.com",
    "outlook.jp",
    "hotmail.com",
    "hotmail.co.jp",
    "live.jp",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "nifty.com",
    "biglobe.ne.jp",
    "ocn.ne.jp",
]

VALUE_LISTS = [
    ("free_mail", "Free-mail domains", FREE_MAIL),
    ("competitor_domains", "Competitor domains", []),
]

# key, name, stage, priority, from, reason, condition
RULES = [
    (
        "dq-competitor",
        "Competitors are never leads",
        "disqualified",
        10,
        ["lead", "nurture"],
        "competitor",
        {
            "any": [
                {"field": "account.kind", "op": "eq", "value": "competitor"},
                {"field": "contact.email_domain", "op": "in_list", "value": "competitor_domains"},
            ]
        },
    ),
    (
        "dq-partner",
        "Partners are handled outside the funnel",
        "disqualified",
        11,
        ["lead", "nurture"],
        "partner",
        {"field": "account.kind", "op": "eq", "value": "partner"},
    ),
    (
        "dq-student",
        "Students",
        "disqualified",
        12,
        ["lead", "nurture"],
        "student",
        {
            "any": [
                {"field": "contact.title", "op": "contains", "value": "student"},
                {"field": "contact.title", "op": "contains", "value": "学生"},
                {"field": "contact.email_domain", "op": "ends_with", "value": ".ac.jp"},
                {"field": "contact.email_domain", "op": "ends_with", "value": ".edu"},
            ]
        },
    ),
    (
        "dq-free-mail",
        "Free-mail addresses without a company",
        "disqualified",
        13,
        ["lead"],
        "free_mail",
        {
            "all": [
                {"field": "contact.email_domain", "op": "in_list", "value": "free_mail"},
                {"field": "account.name", "op": "is_empty"},
            ]
        },
    ),
    (
        "mql-fit-engagement",
        "MQL: fits and engages",
        "mql",
        50,
        ["lead", "nurture"],
        None,
        {
            "all": [
                {"metric": "fit_score", "op": "gte", "value": 50},
                {"metric": "engagement_score", "op": "gte", "value": 30},
                {
                    "count": ["content_download", "form_submission", "event", "demo"],
                    "within_days": 30,
                    "op": "gte",
                    "value": 1,
                },
            ]
        },
    ),
    (
        "nurture-idle-lead",
        "Leads that do not qualify within 30 days go to nurture",
        "nurture",
        90,
        ["lead"],
        None,
        {"metric": "days_in_stage", "op": "gte", "value": 30},
    ),
    (
        "active-by-usage",
        "Onboarded: steady product usage",
        "active",
        50,
        ["onboarding"],
        None,
        {"count": ["product_usage"], "within_days": 30, "op": "gte", "value": 8},
    ),
    (
        "active-after-outcome",
        "A renewal or expansion settles back to active after 30 days",
        "active",
        60,
        ["renewed", "expanded"],
        None,
        {"metric": "days_in_stage", "op": "gte", "value": 30},
    ),
]

FIT_RULES = [
    ("50+ employees", "従業員50名以上", {"field": "account.employee_count", "op": "gte", "value": 50}, 20),
    ("300+ employees", "従業員300名以上", {"field": "account.employee_count", "op": "gte", "value": 300}, 10),
    (
        "Target industry",
        "ターゲット業種",
        {
            "field": "account.industry",
            "op": "in",
            "value": ["software", "it_services", "manufacturing", "finance", "retail", "healthcare"],
        },
        20,
    ),
    ("Based in Japan", "国内企業", {"field": "account.country", "op": "eq", "value": "JP"}, 15),
    (
        "Decision-maker title",
        "決裁者の役職",
        {
            "any": [
                {"field": "contact.title", "op": "contains", "value": v}
                for v in (
                    "manager",
                    "director",
                    "head",
                    "vp",
                    "chief",
                    "部長",
                    "課長",
                    "本部長",
                    "取締役",
                    "マネージャー",
                )
            ]
        },
        25,
    ),
    (
        "Business email",
        "企業ドメインのメール",
        {"not": {"field": "contact.email_domain", "op": "in_list", "value": "free_mail"}},
        10,
    ),
]

ENGAGEMENT_WEIGHTS = {
    "web_visit": 1,
    "content_download": 8,
    "form_submission": 10,
    "email_open": 1,
    "email_click": 3,
    "event": 12,
    "call": 5,
    "meeting": 10,
    "demo": 15,
    "product_usage": 1,
    "support_ticket": 0,
    "survey_answer": 2,
    "note": 0,
}

PIPELINE = [
    ("discovery", "Discovery", "ヒアリング", 10, False, False),
    ("solution", "Solution fit", "提案準備", 25, False, False),
    ("proposal", "Proposal", "提案", 50, False, False),
    ("negotiation", "Negotiation", "交渉", 75, False, False),
    ("closed_won", "Closed won", "受注", 100, True, False),
    ("closed_lost", "Closed lost", "失注", 0, False, True),
]


@transaction.atomic
def install_defaults(now: dt.datetime | None = None) -> dict[str, int]:
    """Create every default that is missing. Returns how many rows of each kind were created."""
    now = now or timezone.now()
    created = {"teams": 0, "stages": 0, "reasons": 0, "rules": 0, "other": 0}
    teams = {}
    for order, (key, name, name_ja) in enumerate(TEAMS):
        teams[key], new = Team.objects.get_or_create(
            key=key, defaults={"name": name, "name_ja": name_ja, "order": order}
        )
        created["teams"] += new
    stages = _install_stages(teams, created)
    _install_reasons(stages, created)
    for key, name, values in VALUE_LISTS:
        created["other"] += ValueList.objects.get_or_create(
            key=key, defaults={"name": name, "values": values}
        )[1]
    _install_rules(stages, now, created)
    _install_scoring(created)
    created["other"] += install_playbook()
    for order, (key, name, name_ja, probability, won, lost) in enumerate(PIPELINE):
        created["other"] += PipelineStage.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "name_ja": name_ja,
                "order": order,
                "probability": probability,
                "is_won": won,
                "is_lost": lost,
            },
        )[1]
    created["other"] += BusinessCalendar.objects.get_or_create(pk=1, defaults={"weekdays": [0, 1, 2, 3, 4]})[
        1
    ]
    return created


def _install_stages(teams: dict[str, Team], created: dict[str, int]) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    new_keys = set()
    for order, (
        key,
        name,
        name_ja,
        category,
        team,
        hands_to,
        _accept,
        sla,
        stall,
        entry,
        _exits,
        meaning,
    ) in enumerate(STAGES):
        stages[key], new = Stage.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "name_ja": name_ja,
                "order": order,
                "category": category,
                "team": teams.get(team) if team else None,
                "hands_to": teams.get(hands_to) if hands_to else None,
                "sla_hours": sla,
                "stall_days": stall,
                "is_entry": entry,
                "meaning": meaning,
            },
        )
        if new:
            new_keys.add(key)
    created["stages"] += len(new_keys)
    for key, *_rest in STAGES:
        if key not in new_keys:
            continue
        spec = next(s for s in STAGES if s[0] == key)
        accept_to, exits = spec[6], spec[10]
        if accept_to:
            stages[key].accept_to = stages[accept_to]
            stages[key].save(update_fields=["accept_to"])
        stages[key].exits.set([stages[e] for e in exits])
    return stages


def _install_reasons(stages: dict[str, Stage], created: dict[str, int]) -> None:
    for order, (kind, key, label, label_ja, sends_to) in enumerate(REASONS):
        created["reasons"] += ReasonCode.objects.get_or_create(
            kind=kind,
            key=key,
            defaults={
                "label": label,
                "label_ja": label_ja,
                "order": order,
                "sends_to": stages[sends_to] if sends_to else None,
            },
        )[1]


def _install_rules(stages: dict[str, Stage], now: dt.datetime, created: dict[str, int]) -> None:
    for key, name, stage, priority, from_stages, reason, condition in RULES:
        if Rule.objects.filter(key=key).exists():
            continue
        criteria.check_valid(condition)
        rule = Rule.objects.create(key=key, name=name, stage=stages[stage], priority=priority)
        version = RuleVersion.objects.create(
            rule=rule,
            number=1,
            from_stages=from_stages,
            definition=condition,
            created_at=now,
            reason=ReasonCode.objects.get(kind="disqualify", key=reason) if reason else None,
            note="Default rule installed by kyogyo init.",
        )
        rule.current_version = version
        rule.save(update_fields=["current_version"])
        created["rules"] += 1


def _install_scoring(created: dict[str, int]) -> None:
    created["other"] += ScoringSettings.objects.get_or_create(pk=1)[1]
    if not FitRule.objects.exists():
        for order, (label, label_ja, condition, points) in enumerate(FIT_RULES):
            criteria.check_valid(condition)
            FitRule.objects.create(
                label=label, label_ja=label_ja, condition=condition, points=points, order=order
            )
            created["other"] += 1
    for activity_type, points in ENGAGEMENT_WEIGHTS.items():
        created["other"] += EngagementWeight.objects.get_or_create(
            activity_type=activity_type,
            defaults={"points": points},
        )[1]
