from odoo import api, models

from .. import const


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.order_id._kashflow_flag_changed()
        return lines

    def write(self, vals):
        result = super().write(vals)
        if set(vals) & const.LINE_CONTENT_FIELDS:
            self.order_id._kashflow_flag_changed()
        return result

    def unlink(self):
        orders = self.order_id
        result = super().unlink()
        orders.exists()._kashflow_flag_changed()
        return result
