"""The addon's README.rst says what its readme/ fragments say (OCA's layout: DESCRIPTION, CONFIGURE, USAGE,
HISTORY), and its changelog names the manifest's version."""

import ast
import re
from pathlib import Path

ADDON = Path(__file__).parents[1] / "kashflow_connector"
FRAGMENTS = ("DESCRIPTION", "CONFIGURE", "USAGE", "HISTORY")


def _words(text):
    """``text`` without markup (Markdown or reStructuredText) nor list markers: its words, one space apart."""
    text = re.sub(r"^\s*(?:[-*#]+|\d+\.)\s+", " ", text, flags=re.MULTILINE)
    text = re.sub(r"^[-=]{3,}$", " ", text, flags=re.MULTILINE)
    return " ".join(re.sub(r"[`*|]", "", text).split())


def test_the_readme_says_what_each_fragment_says():
    readme = _words((ADDON / "README.rst").read_text(encoding="utf-8"))
    for name in FRAGMENTS:
        fragment = (ADDON / "readme" / f"{name}.md").read_text(encoding="utf-8")
        for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:[-*]|\d+\.|#+) )", fragment):
            said = _words(paragraph)
            assert said in readme, f"readme/{name}.md: README.rst lacks {said!r}"


def test_the_changelog_starts_with_the_manifests_version():
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text(encoding="utf-8"))
    history = (ADDON / "readme" / "HISTORY.md").read_text(encoding="utf-8")
    assert re.search(r"^## (\S+)", history, flags=re.MULTILINE).group(1) == manifest["version"]
    assert manifest["development_status"] in ("Alpha", "Beta", "Production/Stable", "Mature")
