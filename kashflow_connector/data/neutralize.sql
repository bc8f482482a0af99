-- A neutralized copy of a database (a test or staging copy) must never book orders into the real KashFlow
-- account: switch the connector off in every company and forget the credentials.
UPDATE res_company
   SET kashflow_enabled = false,
       kashflow_password = NULL,
       kashflow_auto_auth_key = NULL;
