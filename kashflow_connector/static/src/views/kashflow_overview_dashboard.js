/** @odoo-module */
/**
 * The KashFlow overview's dashboard, above its order list (Sales > KashFlow > Overview): how many orders, and how
 * much money, in each KashFlow state (a click filters the list), the back-fill's progress and the reconciliation's,
 * with "Reconcile now". The figures come from sale.order.kashflow_overview_data; while the back-fill or a
 * reconciliation runs, they are read again every few seconds.
 */
import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

const REFRESH_MS = 5000;

export class KashflowOverviewDashboard extends Component {
    static template = "kashflow_connector.OverviewDashboard";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null });
        onWillStart(() => this.load());
        this.timer = setInterval(() => {
            const data = this.state.data;
            if (data && (data.reconciliation.running || data.backfill.queued)) {
                this.load();
            }
        }, REFRESH_MS);
        onWillUnmount(() => clearInterval(this.timer));
    }

    async load() {
        this.state.data = await this.orm.call("sale.order", "kashflow_overview_data", []);
    }

    tileClass(tile) {
        const colour = {
            mismatch: "danger",
            failed: "danger",
            needs_mapping: "warning",
            changed: "warning",
            queued: "info",
            sent: "success",
        }[tile.state];
        return tile.count && colour ? `btn-outline-${colour}` : "btn-light";
    }

    /** Show the orders of one KashFlow state in the list below. */
    filter(state) {
        const searchModel = this.env.searchModel;
        const items = searchModel.getSearchItems((item) => item.name === `kashflow_${state}`);
        searchModel.query = [];
        for (const item of items) {
            searchModel.toggleSearchItem(item.id);
        }
    }

    async reconcileNow() {
        const action = await this.orm.call("kashflow.reconciliation", "action_kashflow_reconcile_now", []);
        await this.action.doAction(action);
        await this.load();
    }

    openReconciliation(id) {
        if (!id) {
            return this.action.doAction("kashflow_connector.kashflow_reconciliation_action");
        }
        return this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "kashflow.reconciliation",
            res_id: id,
            views: [[false, "form"]],
        });
    }

    openVat() {
        return this.action.doAction("kashflow_connector.kashflow_document_vat_action");
    }
}
