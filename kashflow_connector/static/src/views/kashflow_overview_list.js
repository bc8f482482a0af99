/** @odoo-module */
/** The KashFlow overview's list view (js_class="kashflow_overview_list"): Odoo's list, its dashboard above it. */
import { registry } from "@web/core/registry";
import { listView } from "@web/views/list/list_view";
import { ListRenderer } from "@web/views/list/list_renderer";
import { KashflowOverviewDashboard } from "./kashflow_overview_dashboard";

export class KashflowOverviewListRenderer extends ListRenderer {
    static template = "kashflow_connector.OverviewListRenderer";
    static components = { ...ListRenderer.components, KashflowOverviewDashboard };
}

export const kashflowOverviewListView = {
    ...listView,
    Renderer: KashflowOverviewListRenderer,
};

registry.category("views").add("kashflow_overview_list", kashflowOverviewListView);
