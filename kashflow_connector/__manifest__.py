{
    "name": "KashFlow Connector",
    "summary": "Books every paid sale order into KashFlow: customer, invoice and payment, exactly once",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "license": "LGPL-3",
    "author": "kashflow_connector",
    "website": "https://github.com/kashflow-connector/kashflow_connector",
    "depends": ["sale_management", "account", "queue_job"],
    "external_dependencies": {"python": ["zeep"]},
    "data": [
        "views/res_config_settings_views.xml",
    ],
    "installable": True,
    "application": False,
}
