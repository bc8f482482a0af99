/**
 * The user's journey with KashFlow, in tours that tests/test_browser_journey.py runs one after the other, with
 * Python steps between them (the job queue's runner does not run in tests, so Python runs the queued jobs).
 *
 * 1. kashflow_connect: Settings > KashFlow > Test connection, then Download Data.
 * 2. kashflow_map_channel: Settings > Channel Mapping > map the "Web shop" channel and save.
 * 3. kashflow_confirm_and_pay: confirm a quotation, invoice it, confirm the invoice and register its payment.
 * 4. kashflow_order_sent: the order's KashFlow button says Sent, with the KashFlow invoice number.
 * 5. kashflow_order_list: the sales order list shows each order's KashFlow status.
 * 6. kashflow_change_and_resend: pick another delivery address, save (Changed since sent), resend (Queued).
 * 7. kashflow_order_resent: Sent again, and the chatter says the same invoice was updated.
 * 8. kashflow_credit_note: after a credit note and its refund, the order's KashFlow tab lists its documents.
 *
 * Each tour starts on the page the test gives to start_tour: Settings, the order, or the order list. The test company
 * already has the sandbox's address and login (user "odoo-tests", see tests/common.py), as its user typed them.
 */
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const tours = registry.category("web_tour.tours");

// The KashFlow smart button of the sale order form, and its status badge.
const KASHFLOW_BUTTON = "button[name='action_kashflow_open_history']";
const badge = (label) => `${KASHFLOW_BUTTON} .badge:contains(/^${label}$/)`;
// A notification of the given kind ("success", "danger") saying `text`.
const notification = (kind, text) => `.o_notification:has(.o_notification_bar.bg-${kind}):contains(${text})`;

/** Steps that type `search` in the many2one field `field`, within `scope`, and pick `choice` in its dropdown. */
function pick(scope, field, search, choice) {
    const input = `${scope} .o_field_widget[name='${field}'] input`;
    return [
        {
            content: `type "${search}" in ${field}`,
            trigger: input,
            run: `edit ${search}`,
        },
        {
            content: `choose ${choice}`,
            trigger: `.o-autocomplete--dropdown-item:contains(${choice})`,
            run: "click",
        },
        {
            content: `${field} is ${choice}`,
            trigger: `${input}:value(${choice})`,
        },
    ];
}

tours.add("kashflow_connect", {
    steps: () => [
        {
            content: "open the KashFlow settings",
            trigger: ".settings_tab .tab[data-key='kashflow_connector']",
            run: "click",
        },
        {
            content: "the company's KashFlow login is filled in",
            trigger: "#kashflow_connection .o_field_widget[name='kashflow_username'] input:value(odoo-tests)",
        },
        {
            content: "test the connection",
            trigger: "button[name='action_kashflow_test_connection']",
            run: "click",
        },
        {
            content: "KashFlow answers: connected",
            trigger: notification("success", "Connected to KashFlow as odoo-tests"),
        },
        {
            content: "download the KashFlow account's data",
            trigger: "button[name='action_kashflow_download_data']",
            run: "click",
        },
        {
            content: "the data is downloaded",
            trigger: notification("success", "Downloaded from KashFlow: 6 payment methods"),
        },
        {
            content: "close the notifications (they hide part of the settings)",
            trigger: ".o_notification:contains(Downloaded from KashFlow) .o_notification_close",
            run: "click",
        },
        {
            content: "both of them",
            trigger: ".o_notification:contains(Connected to KashFlow) .o_notification_close",
            run: "click",
        },
        {
            content: "the KashFlow settings are in full view",
            trigger: "body:not(:has(.o_notification)) .app_settings_block[data-key='kashflow_connector']",
        },
    ],
});

const WEB_SHOP_ROW = ".o_data_row:has(td[name='team_id']:contains(Web shop))";
const EDITED_ROW = ".o_data_row.o_selected_row";

tours.add("kashflow_map_channel", {
    steps: () => [
        {
            content: "open the KashFlow settings",
            trigger: ".settings_tab .tab[data-key='kashflow_connector']",
            run: "click",
        },
        {
            content: "open the channel mapping",
            trigger: "button[name='action_kashflow_open_mapping']",
            run: "click",
        },
        {
            content: "the Web shop channel is not mapped yet: edit its row",
            trigger: `${WEB_SHOP_ROW}.text-warning td[name='payment_method_id']`,
            run: "click",
        },
        ...pick(EDITED_ROW, "payment_method_id", "Card", "Card"),
        ...pick(EDITED_ROW, "bank_account_id", "Current", "1200 Current Account"),
        ...pick(EDITED_ROW, "source_id", "Web", "Web shop"),
        {
            content: "a bank account is no place for sales: look for 1200 as the goods nominal",
            trigger: `${EDITED_ROW} .o_field_widget[name='goods_nominal_id'] input`,
            run: "edit 1200",
        },
        {
            content: "only income codes are offered: nothing to choose",
            trigger: ".o-autocomplete--dropdown-menu .o_m2o_no_result",
        },
        ...pick(EDITED_ROW, "goods_nominal_id", "4000", "4000 Sales - Goods"),
        ...pick(EDITED_ROW, "delivery_nominal_id", "4900", "4900 Carriage/Delivery charges"),
        {
            content: "save the mapping",
            trigger: ".o_list_button_save",
            run: "click",
        },
        {
            content: "the Web shop channel is mapped",
            trigger: `${WEB_SHOP_ROW}:not(.o_selected_row):not(.text-warning) td[name='is_complete'] input:checked`,
        },
    ],
});

tours.add("kashflow_confirm_and_pay", {
    steps: () => [
        {
            content: "confirm the quotation",
            trigger: ".o_statusbar_buttons button[name='action_confirm']",
            run: "click",
        },
        {
            content: "the confirmed order is not in KashFlow: it is not paid yet",
            trigger: badge("Not paid yet"),
        },
        {
            content: "invoice the order",
            trigger: ".o_statusbar_buttons button#create_invoice",
            run: "click",
        },
        {
            content: "create the draft invoice",
            trigger: ".modal button#create_invoice_open",
            run: "click",
        },
        {
            content: "confirm the invoice",
            trigger: ".o_statusbar_buttons button[name='action_post']",
            run: "click",
        },
        {
            content: "register the customer's payment",
            trigger: ".o_statusbar_buttons button[name='action_register_payment']",
            run: "click",
        },
        {
            content: "create the payment",
            trigger: ".modal button[name='action_create_payments']",
            run: "click",
        },
        {
            content: "the invoice is paid",
            trigger: ".o_form_view .ribbon:contains(Paid), .o_form_view .ribbon:contains(In Payment)",
        },
    ],
});

tours.add("kashflow_order_sent", {
    steps: () => [
        {
            content: "the order is in KashFlow",
            trigger: badge("Sent"),
        },
        {
            content: "with its KashFlow invoice number",
            trigger: `${KASHFLOW_BUTTON} .o_stat_text:contains(KashFlow) .o_field_integer:contains(/^\\d+$/)`,
        },
        {
            content: "open the order's KashFlow history",
            trigger: KASHFLOW_BUTTON,
            run: "click",
        },
        {
            content: "the attempt says, in words, what it did in KashFlow",
            trigger: ".o_list_view .o_data_row td[name='message']:contains(/invoice \\d+ created, payment \\d+ created/)",
        },
        {
            content: "back to the order",
            trigger: ".o_breadcrumb .o_back_button a",
            run: "click",
        },
        {
            content: "the KashFlow group of the Other Info tab says so too",
            trigger: ".o_notebook .nav-link:contains(Other Info)",
            run: "click",
        },
        {
            content: "status Sent",
            trigger: ".o_group .o_field_widget[name='kashflow_state']:contains(/^Sent$/)",
        },
        {
            content: "back to the order lines",
            trigger: ".o_notebook .nav-link:contains(Order Lines)",
            run: "click",
        },
        {
            content: "the lines are shown",
            trigger: ".o_field_widget[name='order_line'] .o_data_row",
        },
    ],
});

tours.add("kashflow_order_list", {
    steps: () => [
        {
            content: "the list has a KashFlow column",
            trigger: ".o_list_table th[data-name='kashflow_state']",
        },
        {
            content: "Hannah Fletcher's order is Sent",
            trigger:
                ".o_data_row:has(td[name='partner_id']:contains(Hannah Fletcher)) " +
                "td[name='kashflow_state'] .badge:contains(/^Sent$/)",
        },
        {
            content: "the eBay order waits for its channel to be mapped",
            trigger:
                ".o_data_row:has(td[name='partner_id']:contains(Oliver Bennett)) " +
                "td[name='kashflow_state'] .badge:contains(Needs mapping)",
        },
    ],
});

tours.add("kashflow_change_and_resend", {
    steps: () => [
        {
            content: "the order is in KashFlow",
            trigger: badge("Sent"),
        },
        ...pick(".o_form_view", "partner_shipping_id", "Workshop", "Hannah Fletcher, Workshop"),
        ...stepUtils.saveForm(),
        {
            content: "the order no longer matches what KashFlow holds",
            trigger: badge("Changed since sent"),
        },
        {
            content: "a banner says to resend it",
            trigger: ".alert-warning:contains(This order changed after it was sent to KashFlow)",
        },
        {
            content: "resend the order",
            trigger: ".o_statusbar_buttons button[name='action_kashflow_resend']",
            run: "click",
        },
        {
            content: "the order waits for the job queue",
            trigger: badge("Queued"),
        },
    ],
});

tours.add("kashflow_order_resent", {
    steps: () => [
        {
            content: "the order is in KashFlow again",
            trigger: badge("Sent"),
        },
        {
            content: "the chatter says the invoice on the button was updated, not created anew",
            trigger: ".o-mail-Message-body:contains(/KashFlow invoice \\d+ updated/)",
            run() {
                const number = document.querySelector(
                    `${KASHFLOW_BUTTON} .o_field_widget[name='kashflow_invoice_number']`
                ).textContent.trim();
                if (!this.anchor.textContent.includes(`KashFlow invoice ${number} updated`)) {
                    throw new Error(`The button shows invoice ${number}; the chatter says: ${this.anchor.textContent}`);
                }
            },
        },
    ],
});

tours.add("kashflow_credit_note", {
    steps: () => [
        {
            content: "the order is in KashFlow, credit note included",
            trigger: badge("Sent"),
        },
        {
            content: "the chatter says the credit note was created and applied",
            trigger: ".o-mail-Message-body:contains(credit note):contains(applied to its invoice)",
        },
        {
            content: "open the order's KashFlow tab",
            trigger: ".o_notebook .nav-link:contains(KashFlow)",
            run: "click",
        },
        {
            content: "it lists the invoice",
            trigger: ".o_field_widget[name='kashflow_document_ids'] .o_data_row td[name='kind']:contains(Invoice)",
        },
        {
            content: "the credit note, in KashFlow",
            trigger:
                ".o_field_widget[name='kashflow_document_ids'] .o_data_row:has(td[name='kind']:contains(Credit note)) " +
                "td[name='state']:contains(Sent)",
        },
        {
            content: "and the refund, a negative payment",
            trigger:
                ".o_field_widget[name='kashflow_document_ids'] .o_data_row:has(td[name='kind']:contains(Payment)) " +
                "td[name='amount_total']:contains(-)",
        },
    ],
});
