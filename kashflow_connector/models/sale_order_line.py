from decimal import Decimal

from odoo import api, models
from odoo.tools import float_repr

from ..kashflow.snapshot import LineSnapshot
from .sale_order import _money

LINE_CONTENT_FIELDS = {"product_id", "name", "product_uom_qty", "price_unit", "discount", "tax_id",
                       "price_subtotal", "price_total"}


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    def _kashflow_snapshot(self):
        """This line as KashFlow will see it."""
        self.ensure_one()
        currency = self.order_id.currency_id
        percent_taxes = self.tax_id.flatten_taxes_hierarchy().filtered(lambda tax: tax.amount_type == "percent")
        if "is_delivery" in self._fields and self.is_delivery:
            kind = "delivery"
        elif self.currency_id.compare_amounts(self.price_subtotal, 0) < 0:
            kind = "discount"
        else:
            kind = "product"
        qty_digits = self.env["decimal.precision"].precision_get("Product Unit of Measure")
        return LineSnapshot(
            kind=kind,
            description=" ".join((self.name or self.product_id.display_name or "").split()),
            quantity=Decimal(float_repr(self.product_uom_qty, qty_digits)),
            price_unit=Decimal(float_repr(self.price_unit, self.env["decimal.precision"].precision_get(
                "Product Price"))),
            discount=Decimal(float_repr(self.discount, 2)),
            price_subtotal=_money(self.price_subtotal, currency),
            price_tax=_money(self.price_tax, currency),
            price_total=_money(self.price_total, currency),
            vat_rate=Decimal(float_repr(sum(percent_taxes.mapped("amount")), 4)) if self.tax_id else None,
            product_code=self.product_id.default_code or "",
        )

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        lines.order_id._kashflow_flag_changed()
        return lines

    def write(self, vals):
        result = super().write(vals)
        if set(vals) & LINE_CONTENT_FIELDS:
            self.order_id._kashflow_flag_changed()
        return result

    def unlink(self):
        orders = self.order_id
        result = super().unlink()
        orders.exists()._kashflow_flag_changed()
        return result
