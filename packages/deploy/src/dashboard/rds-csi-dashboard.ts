import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, type Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import { DASHBOARD_ROWS, type PanelSpec, type RowSpec } from "./panels.js";

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** Grafana's dashboard JSON for the rows given (all by default), through the foundation SDK's typed builders. */
export function buildDashboard(rows: readonly RowSpec[] = DASHBOARD_ROWS): Dashboard {
  const builder = new DashboardBuilder("rds-csi")
    .uid("rds-csi")
    .description("MikroTik RDS CSI driver: controller, node plugins, RDS connection (docs/metrics.md)")
    .tags(["rds-csi", "storage", "csi"])
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .timezone("browser")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"))
    .withVariable(
      new QueryVariableBuilder("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query("label_values(rds_csi_grpc_requests_total, namespace)")
        .includeAll(true)
        .allValue(".*")
        .multi(true),
    );
  for (const row of rows) {
    builder.withRow(new RowBuilder(row.title));
    for (const panel of row.panels) builder.withPanel(buildPanel(panel));
  }
  return builder.build();
}

function buildPanel(spec: PanelSpec): StatPanelBuilder | TimeseriesPanelBuilder {
  const panel = spec.kind === "stat" ? new StatPanelBuilder().height(6).span(6) : new TimeseriesPanelBuilder().height(8).span(12);
  panel.title(spec.title).description(spec.description).unit(spec.unit).datasource(DATASOURCE);
  for (const query of spec.queries) panel.withTarget(new DataqueryBuilder().expr(query.expr).legendFormat(query.legend).datasource(DATASOURCE));
  return panel;
}
