"""Every message the core words for a user (``kashflow/words.py``: templates marked ``_lt``) is in the addon's
translation template, so that translators see it and the Odoo layer finds its translation by the same text."""

import ast
import pathlib

from babel.messages.pofile import read_po

from kashflow.documents import DocumentError
from kashflow.words import _lt, phrase

ADDON = pathlib.Path(__file__).resolve().parents[1] / "kashflow_connector"
CORE = ADDON / "kashflow"
POT = ADDON / "i18n" / "kashflow_connector.pot"


def marked_templates():
    """``{template: file}``: the text of every ``_lt("...")`` call in the core's modules."""
    found = {}
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_lt" and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found[node.args[0].value] = path.name
    return found


def test_every_worded_message_of_the_core_is_in_the_translation_template():
    templates = marked_templates()
    assert len(templates) >= 30, "the core words its messages as templates to translate"
    with POT.open("rb") as handle:
        catalog = read_po(handle)
    missing = {template: name for template, name in templates.items() if template not in catalog}
    assert not missing, f"not in {POT.name} (refresh it with Odoo's --i18n-export): {missing}"


def test_a_core_error_keeps_its_words_to_translate_and_says_them_in_english():
    error = DocumentError(phrase(_lt("Order %(order)s has no lines."), order="S00042"))
    assert str(error) == "Order S00042 has no lines."
    assert (error.phrase.template, error.phrase.params) == ("Order %(order)s has no lines.", {"order": "S00042"})
