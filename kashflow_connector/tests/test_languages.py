"""The connector speaks the user's language: the core's messages (``kashflow/words.py``) are worded by the Odoo
layer through the addon's translations (``i18n/<language>.po``), here French."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

from odoo.tests import tagged

from .common import KashFlowCase

FRENCH = Path(__file__).parents[1] / "i18n" / "fr.po"
FIX = "Give the order a shorter Order Reference in Odoo, then send it to KashFlow again."


@tagged("post_install", "-at_install")
class TestLanguages(KashFlowCase):
    def setUp(self):
        super().setUp()
        self.download_and_map()
        self.env["res.lang"]._activate_lang("fr_FR")
        with FRENCH.open("rb") as po:
            self.french = {message.id: message.string for message in read_po(po) if message.id}

    def test_a_message_of_the_core_reaches_a_french_user_in_french(self):
        """An order KashFlow cannot take (its reference longer than KashFlow's field), resent by a French-speaking
        user: the order fails with the core's message in French, every part of it (the field, the order, what to
        do) translated."""
        order = self.make_order()
        order.name = "S" + "0" * 120
        self.pay_online(order)
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertIn(FIX, order.kashflow_reason, "in English for the English-speaking user who paid it")
        order.with_context(lang="fr_FR").action_kashflow_resend()
        self.run_jobs()
        self.assertEqual(order.kashflow_state, "failed")
        self.assertTrue(self.french[FIX] and self.french[FIX] != FIX)
        self.assertIn(self.french[FIX], order.kashflow_reason)
        self.assertNotIn(FIX, order.kashflow_reason)
        self.assertIn(self.french["order %(order)s"].split("%")[0].strip(), order.kashflow_reason)

    def test_the_screens_read_in_french_once_the_language_is_loaded(self):
        """Loading the French translation (as installing the language does) puts the addon's labels in French."""
        self.env["ir.module.module"]._load_module_terms(["kashflow_connector"], ["fr_FR"], overwrite=True)
        field = self.env["ir.model.fields"]._get("sale.order", "kashflow_document_ids")
        english = field.with_context(lang="en_US").field_description
        self.assertEqual(field.with_context(lang="fr_FR").field_description, self.french[english])
        self.assertNotEqual(self.french[english], english)

    def test_every_message_of_the_french_translation_keeps_its_placeholders(self):
        """A translation that drops or renames a placeholder would fail when the message is worded."""
        placeholder = re.compile(r"%\(\w+\)[sd]|%[sd]")
        for message_id, string in self.french.items():
            if string:
                self.assertEqual(sorted(placeholder.findall(message_id)), sorted(placeholder.findall(string)),
                                 message_id)
