"""Browser tests: Debian's chromium driven by Playwright against the live test server.

Fixtures (registered for the whole suite by the root conftest):

- ``chromium``: one browser for the session (never a downloaded one: the system's
  ``chromium`` binary; the suite fails with the install command if it is missing).
- ``browse``: a factory of signed-in (or anonymous) tabs, ``browse(user, language="ja")``,
  each a :class:`Tab` that collects CSP violations, script errors and failed requests and
  fails the test on any of them at teardown.

A :class:`Tab` also writes screenshots (``KYOGYO_SCREENSHOTS_DIR``, per language) and checks
that a Japanese page shows no untranslated text: every visible text (and label-like
attribute) outside elements marked ``translate="no"`` — the HTML way to say "this is
data: names, emails, amounts" — must hold no English word beyond the glossary of terms
both languages use (MQL, SLA, NPS …).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Terms written the same way in Japanese business use: acronyms of The Model and SaaS, and
# names of products and formats.
GLOSSARY = frozenset(
    [
        "MQL",
        "SQL",
        "SAL",
        "SQO",
        "NPS",
        "MRR",
        "ARR",
        "GRR",
        "NRR",
        "SLA",
        "CSV",
        "XLSX",
        "PDF",
        "API",
        "KPI",
        "LTV",
        "FY",
        "CAC",
        "ROI",
        "ID",
        "URL",
        "JPY",
        "CS",
        "IS",
        "FS",
        "BDR",
        "SDR",
        "HTML",
        "Excel",
        "Kyogyo",
        "Salesforce",
        "HubSpot",
        "Web",
        "Webhook",
        "REST",
        "OK",
        "TOP",
        "CTA",
        "UTM",
        "CRM",
        "SaaS",
        "ABM",
        "vs",
        "Plotly",
        "Swagger",
        "OpenAPI",
        "JSON",
        "YAML",
        "PW",
        "QR",
        "AM",
        "PM",
        "h",
    ]
)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")

COLLECT_TEXTS = """
() => {
  const skip = (el) => el.closest('[translate="no"], script, style, noscript, .modebar, [hidden]');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!text || !node.parentElement || skip(node.parentElement)) continue;
    out.push(text);
  }
  const labelled = '[placeholder], [title], [aria-label], [alt], input[type=submit][value]';
  for (const el of document.querySelectorAll(labelled)) {
    if (skip(el)) continue;
    for (const name of ['placeholder', 'title', 'aria-label', 'alt', 'value']) {
      if (name === 'value' && el.type !== 'submit') continue;
      const value = el.getAttribute(name);
      if (value && value.trim()) out.push(value.trim());
    }
  }
  out.push(document.title);
  return out;
}
"""

# Reported through a binding Playwright installs outside the page's CSP, so a violation on a
# page the test has already left is still counted.
WATCH_CSP = """
document.addEventListener('securitypolicyviolation', (e) => {
  const where = e.sourceFile + ':' + e.lineNumber;
  window.kyogyoReport('CSP ' + e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + where);
});
"""


def untranslated(texts: list[str], allowed: frozenset[str] = frozenset()) -> list[str]:
    """The texts that still hold an English word (outside the glossary and ``allowed``)."""
    known = GLOSSARY | allowed
    return [text for text in texts if any(word not in known for word in WORD.findall(text))]


def screenshots_dir() -> Path:
    configured = os.environ.get("KYOGYO_SCREENSHOTS_DIR")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "screenshots"


@dataclass
class Tab:
    page: Any  # playwright.sync_api.Page
    base_url: str
    language: str
    problems: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        return response

    def shot(self, name: str) -> Path:
        """A full-page screenshot, one file per page and language."""
        target = screenshots_dir() / self.language / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def texts(self) -> list[str]:
        return self.page.evaluate(COLLECT_TEXTS)

    def assert_translated(self, allowed: frozenset[str] = frozenset()) -> None:
        """On a Japanese page: no visible English outside data (``translate="no"``)."""
        assert self.language == "ja", "only a Japanese page can be checked for untranslated text"
        left = untranslated(self.texts(), allowed)
        assert not left, f"untranslated text on {self.page.url}: {left}"


def _chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("the browser tests need Debian's chromium: apt-get install -y chromium", pytrace=False)
    return found


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between steps are still synchronous, so Django's async guard does not apply here.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium_path(), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def browse(chromium: Any, live_server: Any) -> Iterator[Callable[..., Tab]]:
    """``browse(user=None, language="en", password=None)`` → a Tab, signed in when a user
    is given (their password defaults to the ``people`` fixture's ``pw-<username>``)."""
    tabs: list[tuple[Any, Tab]] = []

    def open_tab(user: Any = None, language: str = "en", password: str | None = None) -> Tab:
        locale = "ja-JP" if language == "ja" else "en-US"
        context = chromium.new_context(locale=locale, viewport={"width": 1400, "height": 900})
        context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        tab = Tab(page, live_server.url, language)
        context.expose_function("kyogyoReport", lambda text: tab.problems.append(str(text)))
        context.add_init_script(WATCH_CSP)
        page.on("pageerror", lambda error: tab.problems.append(f"script error: {error}"))
        page.on(
            "console",
            lambda message: (
                tab.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                tab.problems.append(f"{response.status} for {response.url}")
                if response.status >= 500
                else None
            ),
        )
        tabs.append((context, tab))
        if user is not None:
            if user.language != language:
                user.language = language
                user.save(update_fields=["language"])
            sign_in(tab, user.get_username(), password or f"pw-{user.get_username()}")
        return tab

    yield open_tab
    problems = []
    for context, tab in tabs:
        problems += tab.problems
        context.close()
    assert not problems, f"the browser reported problems: {problems}"


def sign_in(tab: Tab, username: str, password: str) -> None:
    tab.goto("/login/")
    tab.page.fill("input[name=username]", username)
    tab.page.fill("input[name=password]", password)
    tab.page.click("main button[type=submit]")
    tab.page.wait_for_load_state("load")
