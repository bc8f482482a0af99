from odoo import models

from .. import const
from ..kashflow.documents import customer_code, is_northern_ireland
from ..kashflow.snapshot import CustomerSnapshot
from .kashflow_accounting import address_snapshot


class ResPartner(models.Model):
    _inherit = "res.partner"

    def write(self, vals):
        """A contact change is a customer change: the contact's KashFlow customers (at most one per company)
        get one update queued, whatever the number of its orders. No order is touched."""
        result = super().write(vals)
        if set(vals) & const.PARTNER_CONTENT_FIELDS:
            self.env["kashflow.customer"].sudo().search(
                [("partner_id", "in", self.commercial_partner_id.ids), ("kashflow_customer_id", "!=", 0),
                 ("company_id.kashflow_enabled", "=", True)])._kashflow_enqueue()
            # an order's job may be making the contact's customer from what it read before this change
            self.env["sale.order"].sudo().search(
                ["|", ("partner_id", "child_of", self.commercial_partner_id.ids),
                 ("partner_invoice_id", "child_of", self.commercial_partner_id.ids),
                 ("kashflow_state", "=", "queued")])._kashflow_note_change()
        return result

    def _kashflow_customer_snapshot(self, company):
        """This commercial contact as KashFlow's customer in ``company``'s account: its name, invoice contact
        and addresses (the contact's own, the same for all its orders), and whether the company is in Northern
        Ireland."""
        self.ensure_one()
        addresses = self.address_get(["invoice", "delivery"])
        invoice = self.browse(addresses["invoice"])
        delivery = self.browse(addresses["delivery"])
        return CustomerSnapshot(
            code=customer_code(self.id, company._kashflow_code_prefix()),
            name=self.name or "",
            contact_name=invoice.name if invoice != self and not invoice.is_company else "",
            email=invoice.email or self.email or "",
            phone=invoice.phone or self.phone or "",
            mobile=invoice.mobile or self.mobile or "",
            vat=self.vat or "",
            is_company=self.is_company,
            invoice_address=address_snapshot(invoice),
            delivery_address=address_snapshot(delivery) if delivery != invoice else None,
            seller_in_northern_ireland=is_northern_ireland(address_snapshot(company.partner_id), company.vat or ""),
        )
