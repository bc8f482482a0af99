from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    kashflow_customer_id = fields.Integer(
        string="KashFlow Customer ID", company_dependent=True, copy=False, readonly=True,
        help="The KashFlow customer this contact's orders are booked to, in this company's KashFlow account.")
    kashflow_customer_code = fields.Char(
        string="KashFlow Customer Code", company_dependent=True, copy=False, readonly=True,
        help="That customer's code in KashFlow (kept as it is there, also when a bookkeeper chose it).")

    def write(self, vals):
        result = super().write(vals)
        if set(vals) & self.env["sale.order"]._kashflow_partner_fields():
            self.env["sale.order"]._kashflow_flag_changed_for_partners(self)
        return result
