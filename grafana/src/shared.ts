/**
 * What the plantmesh dashboards share, on Grafana's typed dashboard SDK (@grafana/grafana-foundation-sdk):
 * the datasources as dashboard variables, the query builders (PromQL, LogQL, PostgreSQL), the panels
 * that recur, and the grid layout.
 */

import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type DataQuery,
  type DataSourceRef,
  LegendDisplayMode,
  LegendPlacement,
  LogsSortOrder,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  type GridPos,
  type Panel,
  QueryVariableBuilder,
  RowBuilder,
  VariableHide,
  type VariableModel,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import * as logs from '@grafana/grafana-foundation-sdk/logs';
import * as loki from '@grafana/grafana-foundation-sdk/loki';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export type Datasource = 'prometheus' | 'loki' | 'postgres';

const pluginTypes: Record<Datasource, string> = {
  prometheus: 'prometheus',
  loki: 'loki',
  postgres: 'grafana-postgresql-datasource',
};

/** A reference to the dashboard's datasource variable of that kind (Grafana resolves `${name}`). */
export const datasourceRef = (datasource: Datasource): DataSourceRef => ({
  type: pluginTypes[datasource],
  uid: `\${${datasource}}`,
});

/** The variable that picks the dashboard's datasource of that kind: `${prometheus}`, `${loki}`, `${postgres}`. */
const datasourceVariable = (datasource: Datasource) =>
  new DatasourceVariableBuilder(datasource).label(datasource).type(pluginTypes[datasource]).hide(VariableHide.DontHide);

/** The Kubernetes namespace(s) of the platform, for the log panels. */
export const namespaceVariable = () =>
  new QueryVariableBuilder('namespace')
    .label('namespace')
    .datasource(datasourceRef('prometheus'))
    .query('label_values(plantmesh_connection_up, namespace)')
    .refresh(VariableRefresh.OnDashboardLoad)
    .includeAll(true)
    .allValue('.*')
    .hide(VariableHide.DontHide);

const refId = (index: number) => String.fromCharCode(65 + index);

export interface PromTarget {
  expr: string;
  legend?: string;
}

/** A PromQL query of the panel, the `index`th (refId A, B, ...). */
export const promQuery = ({ expr, legend }: PromTarget, index: number) =>
  new prometheus.DataqueryBuilder()
    .refId(refId(index))
    .datasource(datasourceRef('prometheus'))
    .expr(expr)
    .legendFormat(legend ?? '');

const lokiQuery = (expr: string) =>
  new loki.DataqueryBuilder().refId('A').datasource(datasourceRef('loki')).expr(expr).legendFormat('');

/**
 * A query of Grafana's PostgreSQL datasource (grafana-postgresql-datasource): raw SQL in code mode, with
 * the datasource's macros ($__timeFilter(column), $__timeFrom(), $__timeTo()). The SDK has no module for
 * the SQL datasources (0.0.21 ships prometheus, loki, testdata, cloud ones, not postgres/mysql/mssql), so
 * this extends its generic `common.DataQuery` with the fields Grafana's SQL query editor stores.
 */
export interface PostgresQuery extends DataQuery, cog.Dataquery {
  rawSql: string;
  /** `time_series` needs a `time` column (and takes a `metric` column as the series name). */
  format: 'table' | 'time_series';
  rawQuery: true;
  editorMode: 'code';
}

export class PostgresQueryBuilder implements cog.Builder<PostgresQuery> {
  private readonly internal: PostgresQuery = {
    refId: 'A',
    datasource: datasourceRef('postgres'),
    rawSql: '',
    format: 'table',
    rawQuery: true,
    editorMode: 'code',
    _implementsDataqueryVariant: () => {},
  };

  build(): PostgresQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  rawSql(rawSql: string): this {
    this.internal.rawSql = rawSql;
    return this;
  }

  format(format: PostgresQuery['format']): this {
    this.internal.format = format;
    return this;
  }
}

/** A PostgreSQL query: as a table, or as time series (a `time` column, value columns, optionally `metric`). */
export const sqlQuery = (rawSql: string, format: PostgresQuery['format'] = 'table') =>
  new PostgresQueryBuilder().rawSql(rawSql).format(format);

/** The legend under the graph (the SDK's default hides it). */
export const legend = () =>
  new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom);

/** What every panel builder of the SDK has, and the layout sets. */
export interface PanelBuilder extends cog.Builder<Panel> {
  id(id: number): this;
  gridPos(gridPos: GridPos): this;
  datasource(datasource: DataSourceRef): this;
}

/** A panel on the grid: its builder, the datasource it queries, its width (of 24) and height. */
interface PlacedPanel {
  panel: PanelBuilder;
  datasource: Datasource;
  w: number;
  h: number;
}
/** A row header across the grid, grouping the panels after it. */
interface RowHeader {
  row: string;
}
export type Item = PlacedPanel | RowHeader;

export const place = (panel: PanelBuilder, datasource: Datasource, w = 12, h = 8): Item => ({
  panel: panel.datasource(datasourceRef(datasource)),
  datasource,
  w,
  h,
});
export const row = (title: string): Item => ({ row: title });

/** A timeseries of PromQL queries. */
export const prom = (title: string, targets: PromTarget[], unit = 'short', w = 12): Item =>
  place(
    new timeseries.PanelBuilder().title(title).unit(unit).legend(legend()).targets(targets.map(promQuery)),
    'prometheus',
    w,
  );

/** The log lines of a LogQL selection, newest first, across the grid. */
export const logsPanel = (title: string, expr: string): Item =>
  place(
    new logs.PanelBuilder()
      .title(title)
      .showTime(true)
      .wrapLogMessage(true)
      .sortOrder(LogsSortOrder.Descending)
      .withTarget(lokiQuery(expr)),
    'loki',
    24,
    10,
  );

/** One SQL query shown as a table, a timeseries (a `time` column) or a bar chart (a text column and numbers). */
export function sql(title: string, rawSql: string, type: 'table' | 'timeseries' | 'barchart' = 'table', w = 12): Item {
  const panel =
    type === 'timeseries'
      ? new timeseries.PanelBuilder().legend(legend())
      : type === 'barchart'
        ? new barchart.PanelBuilder().legend(legend())
        : new table.PanelBuilder();
  const format = type === 'timeseries' ? 'time_series' : 'table';
  return place(panel.title(title).unit('short').withTarget(sqlQuery(rawSql, format)), 'postgres', w);
}

/**
 * The grid layout: panels left to right, a new line when the next one does not fit in the 24 columns
 * (as tall as the tallest panel of the line before); a row header takes a line of its own.
 */
export class Grid {
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  panel(w: number, h: number): GridPos {
    if (this.x + w > 24) this.newLine();
    const position = { x: this.x, y: this.y, w, h };
    this.x += w;
    this.lineHeight = Math.max(this.lineHeight, h);
    return position;
  }

  row(): GridPos {
    if (this.x > 0) this.newLine();
    const position = this.panel(24, 1);
    this.newLine();
    return position;
  }

  private newLine(): void {
    this.x = 0;
    this.y += this.lineHeight;
    this.lineHeight = 0;
  }
}

export interface DashboardOptions {
  uid: string;
  title: string;
  /** Variables besides the datasources the panels use (which come first). */
  variables?: cog.Builder<VariableModel>[];
  /** The default time range: from `time` to now. */
  time?: string;
  refresh?: string;
}

/** A dashboard as Grafana's JSON model (plain JSON: no builder internals). */
export type DashboardJson = Record<string, unknown>;

/** A plantmesh dashboard: tagged, its datasources as variables, its panels numbered and laid out on the grid. */
export function dashboard(options: DashboardOptions, items: Item[]): DashboardJson {
  const builder = new DashboardBuilder(options.title)
    .uid(options.uid)
    .tags(['plantmesh'])
    .timezone('browser')
    .version(1)
    .editable()
    .refresh(options.refresh ?? '30s')
    .time({ from: options.time ?? 'now-1h', to: 'now' });
  const used = new Set(items.flatMap((item) => ('datasource' in item ? [item.datasource] : [])));
  builder.variables([...[...used].map(datasourceVariable), ...(options.variables ?? [])]);
  const grid = new Grid();
  items.forEach((item, index) => {
    if ('row' in item) builder.withRow(new RowBuilder(item.row).id(index + 1).gridPos(grid.row()));
    else builder.withPanel(item.panel.id(index + 1).gridPos(grid.panel(item.w, item.h)));
  });
  // JSON as Grafana stores it: the SDK's objects carry type markers (functions) that are not part of it.
  return JSON.parse(JSON.stringify(builder.build())) as DashboardJson;
}
