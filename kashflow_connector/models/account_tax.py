from odoo import api, fields, models
from odoo.exceptions import UserError

from .. import const


class AccountTax(models.Model):
    _inherit = "account.tax"

    kashflow_treatment = fields.Selection(
        const.KASHFLOW_TREATMENTS, string="In KashFlow", compute="_compute_kashflow_treatment", store=True,
        readonly=False,
        help="How the tax is booked in KashFlow. VAT: the line's VAT, at the tax's percentage (percentage taxes "
             "only; a 0% tax is zero-rated). VAT exempt: a 0% tax for sales exempt from VAT, booked at KashFlow's "
             "exempt (N/A) rate. Separate line without VAT: a fee that is not VAT (a fixed recycling fee, say) "
             "becomes a line of its own, on the channel's nominal for other charges. Empty: orders with this tax "
             "are refused.")

    @api.depends("amount_type", "amount", "name")
    def _compute_kashflow_treatment(self):
        """Percentage taxes are VAT (exempt when they are 0% and named so, as the UK chart's *Exempt*) and fixed
        ones are charges, unless someone said otherwise."""
        for tax in self:
            if not tax.kashflow_treatment:
                treatment = {"percent": "vat", "division": "vat", "fixed": "charge"}.get(tax.amount_type, False)
                if treatment == "vat" and not tax.amount and "exempt" in (tax.name or "").lower():
                    treatment = "exempt"
                tax.kashflow_treatment = treatment

    def _kashflow_treatment(self):
        """``"vat"``, ``"exempt"`` or ``"charge"``; raises ``UserError`` naming the tax when KashFlow cannot
        represent it."""
        self.ensure_one()
        treatment = self.kashflow_treatment
        if treatment == "exempt" and (self.amount_type not in ("percent", "division") or self.amount):
            raise UserError(self.env._(
                "The tax %s is marked VAT exempt for KashFlow but charges tax. In Invoicing > Configuration > "
                "Taxes, set its \"In KashFlow\" to VAT (or make it a 0%% tax), then resend the order.", self.name))
        if treatment == "vat" and self.amount_type not in ("percent", "division"):
            raise UserError(self.env._(
                "The tax %s is not a percentage, so KashFlow cannot book it as VAT. In Invoicing > Configuration "
                "> Taxes, set its \"In KashFlow\" to a separate line without VAT, or use a percentage VAT tax, "
                "then resend the order.", self.name))
        if treatment not in ("vat", "exempt", "charge"):
            raise UserError(self.env._(
                "The tax %s cannot be represented in KashFlow as it stands. In Invoicing > Configuration > Taxes, "
                "set its \"In KashFlow\" (VAT, VAT exempt, or a separate line without VAT), then resend the order.",
                self.name))
        return treatment
