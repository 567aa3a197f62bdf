"""Every translatable string in the code is in the Japanese catalogue (run
`django-admin makemessages -l ja` in kyogyo/ and translate what is new)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "kyogyo" / "locale" / "ja" / "LC_MESSAGES" / "django.po"
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy"}


def marked_strings() -> dict[str, str]:
    found = {}
    for path in (ROOT / "kyogyo").rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def catalogue_ids() -> set[str]:
    ids, current, in_id = set(), [], False
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current, in_id = [ast.literal_eval(line[6:])], True
        elif line.startswith('"') and in_id:
            current.append(ast.literal_eval(line))
        else:
            if in_id:
                ids.add("".join(current))
            in_id = False
    return ids


def test_every_marked_string_is_in_the_catalogue():
    missing = {text: where for text, where in marked_strings().items() if text not in catalogue_ids()}
    assert not missing, f"untranslated strings (run makemessages and translate): {missing}"
