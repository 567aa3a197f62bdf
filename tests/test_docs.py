"""Documentation is part of the change: these fail when a command or setting is undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parent.parent


def our_commands() -> dict[str, str]:
    return {name: app for name, app in get_commands().items() if app.startswith("kyogyo.")}


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in our_commands() if f"kyogyo {name}" not in readme]
    assert not missing, f"commands missing from README's command table: {missing}"


def test_every_command_has_help_text():
    for name, app in our_commands().items():
        command = load_command_class(app, name)
        assert len(command.help) > 30, f"kyogyo {name} needs a --help text"


def test_every_environment_setting_is_documented():
    settings_source = (ROOT / "kyogyo" / "settings.py").read_text()
    variables = set(re.findall(r"\b(KYOGYO_[A-Z_]+|DATABASE_URL)\b", settings_source))
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = sorted(v for v in variables if f"`{v}`" not in documented)
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / target).exists(), f"README links to missing {target}"
