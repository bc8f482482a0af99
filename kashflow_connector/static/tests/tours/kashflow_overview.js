/**
 * The KashFlow overview in the browser, in tours that tests/test_browser_journey_overview.py runs one after the
 * other, with Python steps between them (it runs the jobs and the reconciliation, which no one clicks in a test).
 *
 * 1. kashflow_overview_mismatch: Sales > KashFlow > Overview counts one order that differs in KashFlow, lists it
 *    first with the difference in words, and shows the back-fill done and what the last reconciliation found.
 * 2. kashflow_vat_difference: VAT by Month shows net and VAT per month and rate, Odoo beside KashFlow, and the
 *    difference the changed invoice makes.
 * 3. kashflow_overview_resend: open that order from the overview: a banner says what differs; Resend queues it.
 * 4. kashflow_overview_repaired: after the job and a new reconciliation, nothing differs, in VAT by Month either.
 */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

const tile = (state, count) =>
    `.o_kashflow_overview .o_kashflow_tile[data-state='${state}'] .o_kashflow_count:contains(/^${count}$/)`;
const KASHFLOW_BUTTON = "button[name='action_kashflow_open_history']";

tours.add("kashflow_overview_mismatch", {
    steps: () => [
        {
            content: "the dashboard counts one order that differs in KashFlow",
            trigger: tile("mismatch", 1),
        },
        {
            content: "and the orders sent",
            trigger: tile("sent", 3),
        },
        {
            content: "the order that differs comes first, with the difference in words",
            trigger:
                ".o_data_row:first-child:has(td[name='kashflow_state'] .badge:contains(Mismatch)) " +
                "td[name='kashflow_reason']:contains(VAT 20% is 9.00, Odoo says 11.00)",
        },
        {
            content: "then the one waiting for its channel's mapping",
            trigger: ".o_data_row:nth-child(2) td[name='kashflow_state'] .badge:contains(Needs mapping)",
        },
        {
            content: "every paid order is in KashFlow or held: the back-fill has nothing left",
            trigger: ".o_kashflow_backfill:contains(100%)",
        },
        {
            content: "the last reconciliation says what it found",
            trigger: ".o_kashflow_reconciliation:contains(documents that differ: 1.)",
        },
    ],
});

// The row of a VAT rate in the VAT by Month pivot (rows: month, then rate), and its cell of the nth measure.
const rateRow = (rate) => `.o_pivot tbody tr:has(th:contains(/^\\s*${rate}\\s*$/))`;

tours.add("kashflow_vat_difference", {
    steps: () => [
        {
            content: "the month's net and VAT per rate, Odoo beside KashFlow",
            trigger: ".o_pivot thead th:contains(VAT (Odoo)) ~ th:contains(VAT (KashFlow)) ~ th:contains(VAT Difference)",
        },
        {
            content: "the 5% rate matches",
            trigger: `${rateRow("5%")} td:last-child:contains(/^0.00$/)`,
        },
        {
            content: "KashFlow's 20% VAT is 2.00 short of Odoo's: the changed invoice",
            trigger: `${rateRow("20%")} td:last-child:contains(/^-2.00$/)`,
        },
    ],
});

tours.add("kashflow_overview_resend", {
    steps: () => [
        {
            content: "open the order that differs",
            trigger: ".o_data_row:first-child td[name='name']",
            run: "click",
        },
        {
            content: "a banner says how KashFlow differs from Odoo",
            trigger: ".o_kashflow_mismatch:contains(KashFlow differs from Odoo):contains(Resend repairs it)",
        },
        {
            content: "the KashFlow button says Mismatch",
            trigger: `${KASHFLOW_BUTTON} .badge:contains(/^Mismatch$/)`,
        },
        {
            content: "resend it: KashFlow gets Odoo's invoice again",
            trigger: ".o_statusbar_buttons button[name='action_kashflow_resend']",
            run: "click",
        },
        {
            content: "the order waits for the job queue",
            trigger: `${KASHFLOW_BUTTON} .badge:contains(/^Queued$/)`,
        },
    ],
});

tours.add("kashflow_overview_repaired", {
    steps: () => [
        {
            content: "nothing differs any more",
            trigger: tile("mismatch", 0),
        },
        {
            content: "the repaired order is sent",
            trigger: tile("sent", 4),
        },
        {
            content: "the new reconciliation found no difference",
            trigger: ".o_kashflow_reconciliation:contains(documents that differ: 0.)",
        },
        {
            content: "open VAT by Month",
            trigger: ".o_kashflow_overview button.o_kashflow_vat",
            run: "click",
        },
        {
            content: "KashFlow's 20% VAT is Odoo's again",
            trigger: `${rateRow("20%")} td:last-child:contains(/^0.00$/)`,
        },
    ],
});
