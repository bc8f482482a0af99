from . import (
    account_move,
    kashflow_channel,
    kashflow_lookup,
    payment_transaction,
    res_company,
    res_config_settings,
    res_partner,
    sale_order,
    sale_order_line,
)
