from odoo import api, fields, models


class KashflowDocumentVat(models.Model):
    """Net and VAT of one KashFlow invoice or credit note at one VAT rate: Odoo's figures beside KashFlow's.

    What a bookkeeper reads before a VAT return: grouped by month of the tax point and by rate (the *VAT by
    Month* pivot), each Odoo figure beside KashFlow's and the difference. Odoo's figures are read from Odoo's books
    (``kashflow.document._kashflow_odoo_by_rate``): the journal items of the posted invoice or credit note the
    document stands for, once whatever KashFlow holds (nothing on a second copy in KashFlow); the order's figures
    for a document of an order's own lines. KashFlow's are what it held when the document was last sent or
    reconciled, at KashFlow's date of it. Credit notes count negative. Written by the queue job when it sends a
    document and by the reconciliation; never by hand.
    """

    _name = "kashflow.document.vat"
    _description = "KashFlow document: net and VAT per rate, Odoo beside KashFlow"
    _order = "date desc, document_id, vat_rate desc"
    _rec_name = "vat_label"

    document_id = fields.Many2one("kashflow.document", required=True, index=True, ondelete="cascade", readonly=True)
    order_id = fields.Many2one(related="document_id.order_id", store=True, index=True, precompute=True)
    company_id = fields.Many2one(related="document_id.company_id", store=True, index=True, precompute=True)
    team_id = fields.Many2one(related="document_id.team_id", string="Channel", store=True, precompute=True)
    kind = fields.Selection(related="document_id.kind", store=True, precompute=True)
    kashflow_number = fields.Integer(related="document_id.kashflow_number", string="KashFlow Number",
                                     aggregator=False)
    date = fields.Date(string="Tax Point", readonly=True, index=True,
                       help="The document's tax point on its side: Odoo's figures at Odoo's date, KashFlow's at "
                            "KashFlow's (a document redated in KashFlow has rows in both months).")
    currency_id = fields.Many2one(related="document_id.currency_id", store=True, precompute=True)
    mismatch = fields.Boolean(related="document_id.mismatch")
    vat_rate = fields.Float(string="VAT %", digits=(16, 4), readonly=True, aggregator=False,
                            help="The KashFlow VAT rate, in per cent; -1 for lines exempt from VAT.")
    vat_label = fields.Char(string="VAT Rate", compute="_compute_vat_label", store=True, precompute=True)
    odoo_net = fields.Monetary(string="Net (Odoo)", readonly=True)
    odoo_vat = fields.Monetary(string="VAT (Odoo)", readonly=True)
    kashflow_net = fields.Monetary(string="Net (KashFlow)", readonly=True)
    kashflow_vat = fields.Monetary(string="VAT (KashFlow)", readonly=True)
    net_difference = fields.Monetary(compute="_compute_differences", store=True, precompute=True,
                                     help="KashFlow's net less Odoo's.")
    vat_difference = fields.Monetary(string="VAT Difference", compute="_compute_differences", store=True,
                                     precompute=True, help="KashFlow's VAT less Odoo's.")
    # The pivot's and graph's measures: the figures above in the company's currency, at Odoo's rate of the tax
    # point (as Odoo's Sales Analysis adds orders in several currencies).
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    odoo_net_company = fields.Monetary(string="Net (Odoo, Company Currency)", currency_field="company_currency_id",
                                       compute="_compute_company_amounts", store=True, precompute=True)
    odoo_vat_company = fields.Monetary(string="VAT (Odoo, Company Currency)", currency_field="company_currency_id",
                                       compute="_compute_company_amounts", store=True, precompute=True)
    kashflow_net_company = fields.Monetary(string="Net (KashFlow, Company Currency)",
                                           currency_field="company_currency_id",
                                           compute="_compute_company_amounts", store=True, precompute=True)
    kashflow_vat_company = fields.Monetary(string="VAT (KashFlow, Company Currency)",
                                           currency_field="company_currency_id",
                                           compute="_compute_company_amounts", store=True, precompute=True)
    net_difference_company = fields.Monetary(string="Net Difference (Company Currency)",
                                             currency_field="company_currency_id",
                                             compute="_compute_company_amounts", store=True, precompute=True,
                                             help="KashFlow's net less Odoo's, in the company's currency.")
    vat_difference_company = fields.Monetary(string="VAT Difference (Company Currency)",
                                             currency_field="company_currency_id",
                                             compute="_compute_company_amounts", store=True, precompute=True,
                                             help="KashFlow's VAT less Odoo's, in the company's currency.")

    @api.depends("vat_rate")
    def _compute_vat_label(self):
        for row in self:
            if row.vat_rate < 0:
                row.vat_label = self.env._("Exempt")
            else:
                row.vat_label = f"{row.vat_rate:g}%"

    @api.depends("odoo_net", "odoo_vat", "kashflow_net", "kashflow_vat")
    def _compute_differences(self):
        for row in self:
            row.net_difference = row.kashflow_net - row.odoo_net
            row.vat_difference = row.kashflow_vat - row.odoo_vat

    @api.depends("odoo_net", "odoo_vat", "kashflow_net", "kashflow_vat", "currency_id", "date",
                 "company_id.currency_id")
    def _compute_company_amounts(self):
        for row in self:
            company = row.company_id
            if not company:
                row.odoo_net_company = row.odoo_vat_company = row.kashflow_net_company = 0.0
                row.kashflow_vat_company = row.net_difference_company = row.vat_difference_company = 0.0
                continue
            currency = row.currency_id or company.currency_id
            date = row.date or fields.Date.context_today(row)

            def convert(amount, currency=currency, company=company, date=date):
                return currency._convert(amount, company.currency_id, company, date)

            row.odoo_net_company = convert(row.odoo_net)
            row.odoo_vat_company = convert(row.odoo_vat)
            row.kashflow_net_company = convert(row.kashflow_net)
            row.kashflow_vat_company = convert(row.kashflow_vat)
            # the differences of the converted figures, so that the pivot's columns agree with one another
            row.net_difference_company = company.currency_id.round(row.kashflow_net_company - row.odoo_net_company)
            row.vat_difference_company = company.currency_id.round(row.kashflow_vat_company - row.odoo_vat_company)
