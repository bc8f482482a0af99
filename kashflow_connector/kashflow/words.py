"""Words for the people who read the connector's messages, in their language.

The core imports nothing from Odoo, so it cannot translate: it says what happened as a ``Phrase``, an English
template with ``%(name)s`` fields and their values (text, numbers, or phrases of their own), and the Odoo layer
words it in the user's language (``models/kashflow_sync.py`` ``words``). Each template is marked with ``_lt``,
the name Odoo's translation export looks for in the addon's Python files: so the templates are in the addon's
``.pot``, and their translations are found by the same text.
"""

from dataclasses import dataclass, field


def _lt(template: str) -> str:
    """Mark ``template`` as words to translate (Odoo's export collects it into the .pot); returns it as it is."""
    return template


@dataclass(frozen=True)
class Phrase:
    """An English ``template`` (``%(name)s`` fields; ``%%`` for a per cent sign when it has fields) and the values
    of its fields (``params``: text, numbers, or ``Phrase``). ``str()`` gives the English text."""

    template: str
    params: dict = field(default_factory=dict)

    def __str__(self):
        if not self.params:
            return self.template
        return self.template % {name: str(value) for name, value in self.params.items()}


def phrase(template: str, **params) -> Phrase:
    """``Phrase(template, params)``: ``phrase(_lt("Order %(order)s ..."), order="S00042")``."""
    return Phrase(template, params)


def phrase_of(value) -> Phrase:
    """``value`` (a ``Phrase``, or text already worded) as a ``Phrase``."""
    return value if isinstance(value, Phrase) else Phrase(str(value))
