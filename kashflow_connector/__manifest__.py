{
    "name": "KashFlow Connector",
    "summary": "Books every paid sale order into KashFlow: customer, invoice and payment, exactly once",
    "version": "18.0.2.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "kashflow_connector contributors",
    "website": "https://github.com/kashflow-connector/kashflow_connector",
    "depends": ["sale_management", "account", "queue_job"],
    "external_dependencies": {"python": ["zeep"]},
    "data": [
        "security/ir.model.access.csv",
        "security/kashflow_security.xml",
        "data/queue_job_data.xml",
        "data/ir_cron_data.xml",
        "views/kashflow_lookup_views.xml",
        "views/kashflow_channel_views.xml",
        "views/sale_order_views.xml",
        "views/account_tax_views.xml",
        "views/res_config_settings_views.xml",
        "views/kashflow_menus.xml",
    ],
    "images": ["static/description/screenshot_order.png"],
    "assets": {
        "web.assets_tests": [
            "kashflow_connector/static/tests/tours/**/*",
        ],
    },
}
