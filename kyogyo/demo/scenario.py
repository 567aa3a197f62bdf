"""The demo company's story: a Japanese B2B SaaS vendor with two years of history.

Everything is drawn from ``random.Random`` seeded by ``(seed, what)``, so a seed and an end
date fully determine the company. The story only *proposes* what people do (a download,
an accept, a deal); the journey engine decides what that means (MQL or not, which handoff,
which SLA). It talks to the engine through a ``Driver``: ``ActionDriver`` calls the real
actions one by one, ``BulkDriver`` plans the same rows in memory and writes them in bulk.
Each person's life is simulated whole, one person after another, in the same order for
both drivers, so both produce the same rows.

The mix of leads follows the book: about 10% "now", 65% "later", 25% "never".

People are dealt into ``SHARDS`` shards (person i → shard i mod SHARDS) and only work at
companies of their own shard, so shards share no state but the routing rotation. The
canonical order is shard by shard, person by person; the bulk path simulates shards in
parallel processes and stitches them together in that order.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
HISTORY_DAYS = 730
SHARDS = 16
SPECIAL_ACCOUNTS = [("competitor", n) for n in range(3)] + [("partner", n) for n in range(3)]

SIZES = {"small": 3_000, "medium": 50_000, "large": 1_000_000}

LAST_NAMES = [
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Watanabe",
    "Ito",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kato",
    "Yoshida",
    "Yamada",
    "Sasaki",
    "Yamaguchi",
    "Matsumoto",
    "Inoue",
    "Kimura",
    "Hayashi",
    "Shimizu",
    "Mori",
    "Abe",
    "Ikeda",
    "Hashimoto",
    "Ishikawa",
]
FIRST_NAMES = [
    "Haruto",
    "Yui",
    "Sota",
    "Aoi",
    "Ren",
    "Hina",
    "Yuto",
    "Mei",
    "Riku",
    "Sakura",
    "Kaito",
    "Yuna",
    "Takumi",
    "Rin",
    "Daiki",
    "Mio",
    "Kenta",
    "Saki",
    "Shota",
    "Nana",
]
TITLES_BUYER = [
    "IT Manager",
    "Sales Director",
    "Head of Marketing",
    "VP Sales",
    "情報システム部長",
    "営業本部長",
    "マーケティング課長",
    "Chief Revenue Officer",
    "Operations Manager",
]
TITLES_OTHER = [
    "Engineer",
    "Analyst",
    "Coordinator",
    "Sales Representative",
    "Assistant",
    "営業担当",
    "エンジニア",
    "Consultant",
]
INDUSTRIES = [
    "software",
    "it_services",
    "manufacturing",
    "finance",
    "retail",
    "healthcare",
    "logistics",
    "construction",
    "education",
    "media",
]
COMPANY_WORDS = [
    "Sakura",
    "Fuji",
    "Kaze",
    "Hikari",
    "Mirai",
    "Aozora",
    "Midori",
    "Tsubasa",
    "Yamato",
    "Kizuna",
    "Hoshi",
    "Umi",
    "Daichi",
    "Asahi",
    "Nami",
    "Kumo",
]
COMPANY_KINDS = ["Systems", "Works", "Holdings", "Solutions", "Labs", "Trading", "Industries", "Tech"]
CHANNELS = [
    "paid_search",
    "organic_search",
    "social",
    "event",
    "webinar",
    "referral",
    "email",
    "display",
    "partner",
]
CONTENT = ["whitepaper", "case_study", "ebook", "webinar_recording", "price_sheet", "checklist"]
FREE_MAIL = ["gmail.com", "yahoo.co.jp", "outlook.jp", "icloud.com"]
COMPETITORS = ["rivalcrm.example", "otherfunnel.example"]
LOSS_REASONS = [
    ("no_decision", 35),
    ("competitor_chosen", 20),
    ("price", 20),
    ("timing", 12),
    ("feature_gap", 8),
    ("no_fit", 5),
]
NPS_COMMENTS = [
    "Great onboarding.",
    "サポートが丁寧です。",
    "Reports are slow.",
    "価格が高い。",
    "The dashboard changed how our teams meet.",
    "",
    "",
    "",
]

USERNAME_PREFIX = {"marketing": "mk", "inside_sales": "is", "field_sales": "fs", "customer_success": "cs"}
# team key → members (plus one manager each); scaled for larger companies
TEAM_SIZES = {"marketing": 3, "inside_sales": 6, "field_sales": 6, "customer_success": 4}


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    team: str
    role: str


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    channel: str
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class AccountSpec:
    index: int
    name: str
    domain: str
    industry: str
    employee_count: int
    country: str
    segment: str
    kind: str


@dataclass(frozen=True)
class PersonSpec:
    index: int
    account: AccountSpec | None
    email: str
    first_name: str
    last_name: str
    title: str
    source: str
    intent: str  # now / later / never


@dataclass(frozen=True)
class HandoffView:
    assigned_to_id: int | None
    due_at: dt.datetime


class Driver(Protocol):
    """What the story asks of the engine. Ids are those of the rows written."""

    def account(self, spec: AccountSpec, at: dt.datetime) -> int: ...
    def contact(self, spec: PersonSpec, account_id: int | None, at: dt.datetime) -> int: ...
    def activity(
        self, contact_id: int, type: str, at: dt.datetime, campaign_id: int | None, source: str, payload: dict
    ) -> None: ...
    def tick(self, contact_id: int, at: dt.datetime) -> None: ...
    def stage(self, contact_id: int) -> str | None: ...
    def open_handoff(self, contact_id: int) -> HandoffView | None: ...
    def accept(self, contact_id: int, actor_id: int, at: dt.datetime) -> None: ...
    def reject(self, contact_id: int, actor_id: int, reason: str, at: dt.datetime) -> None: ...
    def move(self, contact_id: int, stage: str, actor_id: int, at: dt.datetime) -> None: ...
    def qualify(
        self,
        contact_id: int,
        actor_id: int,
        at: dt.datetime,
        name: str,
        amount: int,
        expected_close: dt.date,
        campaign_id: int | None,
    ) -> tuple[int, int | None]: ...
    def move_deal(self, deal_id: int, pipeline_stage: str, actor_id: int | None, at: dt.datetime) -> None: ...
    def win(self, deal_id: int, actor_id: int | None, at: dt.datetime) -> None: ...
    def lose(self, deal_id: int, actor_id: int | None, reason: str, at: dt.datetime) -> None: ...
    def subscribe(self, account_id: int, deal_id: int, plan: str, mrr: int, on: dt.date) -> int: ...
    def change_mrr(self, subscription_id: int, mrr: int, on: dt.date, contact_id: int) -> None: ...
    def renew(self, subscription_id: int, on: dt.date, contact_id: int) -> None: ...
    def churn(self, subscription_id: int, on: dt.date, contact_id: int) -> None: ...
    def nps(self, contact_id: int, score: int, comment: str, at: dt.datetime) -> None: ...


def _seed(seed: int, stream: int, index: int) -> int:
    """A distinct integer seed per (demo seed, purpose, index); integers seed much faster
    than strings, which matters a million times over."""
    return (seed * 8 + stream) * 100_000_000 + index


def size_to_people(size: str) -> int:
    if size in SIZES:
        return SIZES[size]
    try:
        people = int(size.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"size must be small, medium, large or a number of people, got {size!r}") from None
    if not 1 <= people <= 20_000_000:
        raise ValueError("the number of people must be between 1 and 20,000,000")
    return people


def users(people: int) -> list[UserSpec]:
    """The go-to-market staff: a manager and members per team, more for bigger companies."""
    scale = max(1, round((people / 3_000) ** 0.35))
    rng = random.Random("users")
    specs = []
    for team, members in TEAM_SIZES.items():
        short = USERNAME_PREFIX[team]
        for n in range(members * scale + 1):
            role = "manager" if n == 0 else "member"
            specs.append(
                UserSpec(f"{short}{n:02d}", rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), team, role)
            )
    return specs


def campaigns(seed: int, end: dt.date) -> list[CampaignSpec]:
    rng = random.Random(f"{seed}:campaigns")
    start = end - dt.timedelta(days=HISTORY_DAYS)
    specs = []
    for month in range(24):
        begins = start + dt.timedelta(days=30 * month)
        for channel in rng.sample(CHANNELS, 2):
            label = rng.choice(CONTENT).replace("_", " ")
            specs.append(
                CampaignSpec(
                    f"{begins:%Y-%m} {channel} — {label}",
                    channel,
                    begins,
                    begins + dt.timedelta(days=rng.randint(20, 60)),
                )
            )
    return specs


class Company:
    """The people and companies of the story, drawn lazily and deterministically."""

    def __init__(self, seed: int, people: int, end: dt.date):
        self.seed = seed
        self.people = people
        self.end = end
        self.accounts_count = max(SHARDS, people // 3)
        self.end_moment = dt.datetime.combine(end, dt.time(0, 0), tzinfo=TOKYO)
        self.start_moment = self.end_moment - dt.timedelta(days=HISTORY_DAYS)

    def account(self, index: int) -> AccountSpec:
        rng = random.Random(_seed(self.seed, 1, index))
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {index}"
        size = int(min(20_000, rng.paretovariate(1.1) * 12))
        return AccountSpec(
            index=index,
            name=name,
            domain=f"{name.split()[0].lower()}{index}.example.jp",
            industry=rng.choice(INDUSTRIES),
            employee_count=size,
            country="JP" if rng.random() < 0.85 else rng.choice(["US", "SG", "KR", "DE"]),
            segment=segment_of(size),
            kind="prospect",
        )

    def special_account(self, kind: str, number: int) -> AccountSpec:
        """Competitors and partners: a handful of companies, shared by many people."""
        index = -(1 + number + (0 if kind == "competitor" else 10))
        domain = (
            COMPETITORS[number % len(COMPETITORS)] if kind == "competitor" else f"partner{number}.example.jp"
        )
        return AccountSpec(
            index=index,
            name=f"{kind.title()} {number}",
            domain=domain,
            industry="software",
            employee_count=200,
            country="JP",
            segment=segment_of(200),
            kind=kind,
        )

    def account_index(self, person: int, rng: random.Random) -> int:
        """A company of the person's own shard."""
        shard = person % SHARDS
        return shard + SHARDS * rng.randrange((self.accounts_count - shard + SHARDS - 1) // SHARDS)

    def all_specials(self) -> list[AccountSpec]:
        return [self.special_account(kind, n) for kind, n in SPECIAL_ACCOUNTS]

    def all_accounts(self) -> list[AccountSpec]:
        """Every company, regular ones by index, then competitors and partners."""
        return [self.account(i) for i in range(self.accounts_count)] + self.all_specials()

    def shard(self, shard: int) -> range:
        return range(shard, self.people, SHARDS)

    def person(self, index: int) -> PersonSpec:
        rng = random.Random(_seed(self.seed, 2, index))
        draw = rng.random()
        intent = "now" if draw < 0.10 else ("later" if draw < 0.75 else "never")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first.lower()}.{last.lower()}{index}"
        source = rng.choice(CHANNELS)
        if intent == "never":
            kind = rng.choice(["competitor", "partner", "student", "free_mail", "free_mail"])
            if kind in ("competitor", "partner"):
                account = self.special_account(kind, rng.randrange(3))
                return PersonSpec(
                    index,
                    account,
                    f"{local}@{account.domain}",
                    first,
                    last,
                    rng.choice(TITLES_OTHER),
                    source,
                    intent,
                )
            if kind == "student":
                return PersonSpec(
                    index, None, f"{local}@u-tokyo.ac.jp", first, last, "Student", source, intent
                )
            return PersonSpec(
                index, None, f"{local}@{rng.choice(FREE_MAIL)}", first, last, "", source, intent
            )
        # Buyers cluster in bigger, well-fitting companies; browsers anywhere.
        tries = 3 if intent == "now" else 1
        account = max(
            (self.account(self.account_index(index, rng)) for _ in range(tries)),
            key=lambda a: a.employee_count,
        )
        title = rng.choice(TITLES_BUYER if rng.random() < (0.8 if intent == "now" else 0.4) else TITLES_OTHER)
        return PersonSpec(index, account, f"{local}@{account.domain}", first, last, title, source, intent)


def segment_of(employees: int) -> str:
    if employees >= 1000:
        return "enterprise"
    if employees >= 300:
        return "mid_market"
    if employees >= 50:
        return "smb"
    return "small"


def deal_amount(rng: random.Random, employees: int) -> int:
    """Yen; bands grow with company size."""
    if employees >= 1000:
        low, high = 10_000_000, 50_000_000
    elif employees >= 300:
        low, high = 4_000_000, 15_000_000
    elif employees >= 50:
        low, high = 1_000_000, 5_000_000
    else:
        low, high = 300_000, 1_200_000
    return int(round(rng.uniform(low, high), -4))


class Story:
    """Runs each person's life against a driver."""

    def __init__(
        self,
        company: Company,
        driver: Driver,
        campaign_ids: list[tuple[int, CampaignSpec]],
        staff: dict[str, list[int]],
    ):
        self.company = company
        self.driver = driver
        self.campaign_ids = campaign_ids
        self.staff = staff
        self.account_ids: dict[int, int] = {}
        self._running: dict[dt.date, list[int]] = {}

    def create_accounts(self) -> dict[int, int]:
        """All companies first (a CRM's imported company list), so their ids do not depend
        on which person reaches them first."""
        for spec in self.company.all_accounts():
            self.account_ids[spec.index] = self.driver.account(spec, self.company.start_moment)
        return self.account_ids

    def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        """The whole company in canonical order (companies, then shard by shard)."""
        self.create_accounts()
        done = 0
        for shard in range(SHARDS):
            self.run_shard(shard)
            done += len(self.company.shard(shard))
            if progress:
                progress(done, self.company.people)

    def run_shard(self, shard: int) -> None:
        for index in self.company.shard(shard):
            self.live(index)

    # -------------------------------------------------------------- one life

    def live(self, index: int) -> None:
        company = self.company
        rng = random.Random(_seed(company.seed, 3, index))
        spec = company.person(index)
        # Three days' margin: nudging to a weekday never pushes a birth past the end.
        born = company.start_moment + dt.timedelta(seconds=rng.randrange((HISTORY_DAYS - 3) * 86400))
        born = _working_time(born, rng)
        life = _Life(self, spec, rng, born)
        life.run()

    def account_id(self, spec: AccountSpec) -> int:
        return self.account_ids[spec.index]

    def campaign_at(self, rng: random.Random, at: dt.datetime) -> int | None:
        day = at.date()
        running = self._running.get(day)
        if running is None:
            running = self._running[day] = [
                cid for cid, c in self.campaign_ids if c.starts_on <= day <= c.ends_on
            ]
        return rng.choice(running) if running and rng.random() < 0.7 else None


def _working_time(at: dt.datetime, rng: random.Random) -> dt.datetime:
    """Nudge a moment to a weekday between 9:00 and 19:00 Tokyo time, whole seconds."""
    local = at.astimezone(TOKYO)
    while local.weekday() >= 5:
        local += dt.timedelta(days=1)
    local = local.replace(
        hour=rng.randint(9, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0
    )
    return local


class _Life:
    """One person's journey as the story proposes it; the engine's answers steer it."""

    def __init__(self, story: Story, spec: PersonSpec, rng: random.Random, born: dt.datetime):
        self.story, self.spec, self.rng = story, spec, rng
        self.driver = story.driver
        self.clock = born
        self.end = story.company.end_moment
        self.contact_id = 0
        self.deal_id = 0
        self.amount = 0
        self.returns = 0  # times this person came back from nurture

    def later(self, *, hours: float = 0, days: float = 0) -> dt.datetime | None:
        """Advance this life's clock; None once past the end of the history."""
        self.clock = (self.clock + dt.timedelta(hours=hours, days=days)).replace(microsecond=0)
        if self.clock.astimezone(TOKYO).weekday() >= 5 and hours == 0:
            self.clock = _working_time(self.clock, self.rng)
        return self.clock if self.clock < self.end else None

    def touch(self, kind: str, **payload: object) -> None:
        campaign = (
            self.story.campaign_at(self.rng, self.clock)
            if kind not in ("product_usage", "support_ticket")
            else None
        )
        self.driver.activity(self.contact_id, kind, self.clock, campaign, self.spec.source, dict(payload))

    def staff(self, team: str) -> int:
        return self.rng.choice(self.story.staff[team])

    def run(self) -> None:
        spec = self.spec
        account_id = self.story.account_id(spec.account) if spec.account else None
        self.contact_id = self.driver.contact(spec, account_id, self.clock)
        self.touch("form_submission" if self.rng.random() < 0.5 else "web_visit")
        rounds = 0
        while rounds < 40 and self.clock < self.end:
            rounds += 1
            stage = self.driver.stage(self.contact_id)
            if stage in ("lead", "nurture"):
                if not self.engage(stage, rounds):
                    return
            elif stage == "mql":
                if not self.handoff(
                    "inside_sales",
                    accept_rate=0.85 if spec.intent == "now" else 0.55,
                    rejects=["not_reachable", "no_need_now", "no_budget", "not_a_fit"],
                ):
                    return
            elif stage == "sal":
                if not self.qualify():
                    return
            elif stage == "sql":
                if not self.handoff("field_sales", accept_rate=0.9, rejects=["incomplete_info", "not_a_fit"]):
                    return
            elif stage == "opportunity":
                self.sell()
                return
            else:
                return

    def engage(self, stage: str, rounds: int) -> bool:
        """Touches until the rules qualify the person or they drift to nurture."""
        keen = self.spec.intent == "now" and stage == "lead"
        if stage == "nurture" or not keen:
            # Later-buyers browse; some come back months later with real interest.
            for _ in range(self.rng.randint(1, 3)):
                if self.later(days=self.rng.uniform(1, 12)) is None:
                    return False
                self.touch(self.rng.choice(["web_visit", "email_open", "email_click", "web_visit"]))
                if self.driver.stage(self.contact_id) not in ("lead", "nurture"):
                    return True  # the rules moved them (qualified or disqualified)
            if self.driver.stage(self.contact_id) == "lead":
                if self.later(days=31) is None:
                    return False
                self.driver.tick(self.contact_id, self.clock)
            # Fewer come back each time they drift away again.
            chance = (0.6 if self.spec.intent == "now" else 0.3) * 0.5**self.returns
            comes_back = self.spec.intent != "never" and self.rng.random() < chance
            if not comes_back:
                return False
            self.returns += 1
            if self.later(days=self.rng.uniform(30, 240)) is None:
                return False
            stage = self.driver.stage(self.contact_id) or stage
        for _ in range(self.rng.randint(2, 5)):
            if self.later(days=self.rng.uniform(0.5, 6)) is None:
                return False
            self.touch(
                self.rng.choice(
                    [
                        "content_download",
                        "content_download",
                        "form_submission",
                        "event",
                        "web_visit",
                        "email_click",
                        "demo",
                    ]
                ),
                asset=self.rng.choice(CONTENT),
            )
            if self.driver.stage(self.contact_id) != stage:
                return True
        return self.driver.stage(self.contact_id) != stage or rounds < 2

    def handoff(self, team: str, *, accept_rate: float, rejects: list[str]) -> bool:
        view = self.driver.open_handoff(self.contact_id)
        if view is None:
            return False
        actor = view.assigned_to_id or self.staff(team)
        late = self.rng.random() < 0.18
        delay_hours = self.rng.uniform(10, 60) if late else self.rng.uniform(0.2, 6)
        if self.later(hours=delay_hours) is None:
            return False  # still waiting at the end of the history
        if self.rng.random() < accept_rate:
            self.driver.accept(self.contact_id, actor, self.clock)
        else:
            self.driver.reject(self.contact_id, actor, self.rng.choice(rejects), self.clock)
        return True

    def qualify(self) -> bool:
        rep = self.staff("inside_sales")
        if self.later(days=self.rng.uniform(1, 10)) is None:
            return False
        self.touch("call")
        if self.rng.random() < (0.65 if self.spec.intent == "now" else 0.25) and self.spec.account:
            account = self.spec.account
            amount = deal_amount(self.rng, account.employee_count)
            close = (self.clock + dt.timedelta(days=self.rng.randint(30, 120))).date()
            campaign = self.story.campaign_at(self.rng, self.clock)
            self.deal_id, _ = self.driver.qualify(
                self.contact_id, rep, self.clock, f"{account.name} — Kyogyo", amount, close, campaign
            )
            self.amount = amount
            return True
        self.driver.move(self.contact_id, "nurture", rep, self.clock)
        return True

    def sell(self) -> None:
        account = self.spec.account
        assert account is not None
        rep = self.staff("field_sales")
        cycle = self.rng.uniform(20, 60) * (1 + account.employee_count / 2000)
        for step in ("solution", "proposal", "negotiation"):
            if self.later(days=cycle / 4) is None:
                return
            self.touch(self.rng.choice(["meeting", "demo", "call"]))
            if self.rng.random() < 0.25 and step != "solution":
                break
            self.driver.move_deal(self.deal_id, step, rep, self.clock)
        if self.later(days=cycle / 4) is None:
            return
        win_rate = {"enterprise": 0.22, "mid_market": 0.28, "smb": 0.33, "small": 0.38}[account.segment]
        if self.spec.intent == "now":
            win_rate += 0.12
        if self.rng.random() < win_rate:
            self.driver.win(self.deal_id, rep, self.clock)
            self.customer()
        else:
            reasons, weights = zip(*LOSS_REASONS, strict=True)
            self.driver.lose(self.deal_id, rep, self.rng.choices(reasons, weights)[0], self.clock)

    def customer(self) -> None:
        account = self.spec.account
        assert account is not None
        if not self.handoff("customer_success", accept_rate=1.0, rejects=[]):
            return
        account_id = self.story.account_ids[account.index]
        started = self.clock.date()
        mrr = max(1000, int(round(self.amount / 12, -2)))
        subscription = self.driver.subscribe(account_id, self.deal_id, "Kyogyo Business", mrr, started)
        for _ in range(self.rng.randint(6, 14)):
            if self.later(days=self.rng.uniform(1, 4)) is None:
                return
            self.touch("product_usage", sessions=self.rng.randint(1, 40))
        health = self.rng.random()
        for month in range(1, 25):
            if self.later(days=30) is None:
                return
            if health > 0.3 or self.rng.random() < 0.5:
                self.touch("product_usage", sessions=self.rng.randint(1, 200))
            if month % 6 == 0:
                score = min(10, max(0, int(self.rng.gauss(5 + 5 * health, 2))))
                self.driver.nps(self.contact_id, score, self.rng.choice(NPS_COMMENTS), self.clock)
            if month % 12 == 0:
                if health < 0.25 and self.rng.random() < 0.6:
                    self.driver.churn(subscription, self.clock.date(), self.contact_id)
                    return
                self.driver.renew(subscription, self.clock.date(), self.contact_id)
            elif month in (7, 18) and health > 0.6 and self.rng.random() < 0.5:
                mrr = int(round(mrr * self.rng.uniform(1.2, 1.6), -2))
                self.driver.change_mrr(subscription, mrr, self.clock.date(), self.contact_id)
            if month in (1, 8, 13, 19) and self.driver.stage(self.contact_id) in (
                "renewed",
                "expanded",
                "onboarding",
            ):
                self.driver.tick(self.contact_id, self.clock)
