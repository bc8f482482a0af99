from odoo import api, fields, models
from odoo.exceptions import AccessError

from .. import const


class KashflowLookup(models.Model):
    """A value of the company's KashFlow account that orders are mapped to, as *Download Data* found it."""

    _name = "kashflow.lookup"
    _description = "KashFlow account data"
    _order = "kind, code, name"
    _rec_names_search = ["name", "code"]

    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade",
                                 default=lambda self: self.env.company)
    kind = fields.Selection(const.LOOKUP_KINDS, required=True, index=True)
    kashflow_id = fields.Integer(string="KashFlow ID", required=True)
    code = fields.Char(help="The nominal or bank account code, or the currency code.")
    name = fields.Char(required=True)
    active = fields.Boolean(default=True, help="Cleared when KashFlow no longer lists this value.")
    is_income = fields.Boolean(
        string="Income", compute="_compute_is_income", store=True, readonly=False,
        help="A sales (income) nominal code, which channels may book sales to. KashFlow's UK chart keeps them in "
             "4000-4999; tick it for an income code of your own outside that range.")

    _sql_constraints = [
        ("kashflow_id_unique", "unique(company_id, kind, kashflow_id)",
         "A KashFlow value is stored once per company."),
    ]

    def write(self, vals):
        """What KashFlow listed is KashFlow's: invoicing users may only say which nominal codes are income (the
        rest is *Download Data*'s to write, or an administrator's)."""
        if not self.env.su and set(vals) - {"is_income"} and not self.env.user.has_group("base.group_system"):
            raise AccessError(self.env._("KashFlow's data comes from KashFlow (Settings > KashFlow > Download Data); "
                                         "here you may only tick which nominal codes are income."))
        return super().write(vals)

    @api.depends("kind", "code")
    def _compute_is_income(self):
        for lookup in self:
            code = (lookup.code or "").strip()
            lookup.is_income = lookup.kind == "nominal_code" and code.isdigit() and int(code) in const.INCOME_CODES

    @api.depends("code", "name")
    def _compute_display_name(self):
        for lookup in self:
            lookup.display_name = f"{lookup.code} {lookup.name}" if lookup.code else lookup.name

    @api.model
    def _kashflow_refresh(self, company, kind, values):
        """Make the stored values of ``kind`` those given: ``[(kashflow_id, code, name)]``.

        Existing records are updated in place (mappings keep pointing at them), new ones are created and
        those KashFlow no longer lists are archived. Nothing is ever duplicated.
        """
        existing = self.with_context(active_test=False).search([("company_id", "=", company.id),
                                                                  ("kind", "=", kind)])
        by_id = {lookup.kashflow_id: lookup for lookup in existing}
        to_create = []
        for kashflow_id, code, name in values:
            lookup = by_id.pop(kashflow_id, None)
            vals = {"code": code or False, "name": name or str(kashflow_id), "active": True}
            if lookup is None:
                to_create.append({**vals, "company_id": company.id, "kind": kind, "kashflow_id": kashflow_id})
            elif any(lookup[key] != value for key, value in vals.items()):
                lookup.write(vals)
        self.create(to_create)
        self.browse([lookup.id for lookup in by_id.values()]).filtered("active").write({"active": False})
