/**
 * The plant's KPIs, as the business ETL keeps them in the business store (packages/etl-business,
 * docs/adr/0010-business-etl.md): the quench line's OEE and its factors per shift (ISO 22400-2), yield
 * per heat, tonnage cast per strand and shift, the quench entry temperature's deviation per hour, energy
 * per tonne cast and the quench line's energy per plate, and what the curated ETL quarantined per
 * definition. Every panel follows the dashboard's time range: a
 * window counts when it overlaps it, a heat when it finished in it.
 */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import {
  BigValueGraphMode,
  GraphDrawStyle,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VisibilityMode,
} from '@grafana/grafana-foundation-sdk/common';
import { ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { dashboard, legend, place, row, sqlQuery } from './shared.js';

/** A KPI window (hour, shift) overlapping the dashboard's time range. */
const inRange = 'window_start < $__timeTo() and window_end > $__timeFrom()';
const iso22400 = 'business.iso22400_quench_line_per_shift';
const ratios = '^(oee|availability|effectiveness|quality_ratio|technical_efficiency|rework_ratio|scrap_ratio|yield)$';
const percent = [{ id: 'unit', value: 'percentunit' }];

/** OEE bands: below 60 % poor, from 85 % world class. */
const oeeBands = () =>
  new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 0.6, color: 'orange' },
    { value: 0.85, color: 'green' },
  ]);

const kpiSeries = (title: string, unit: string) =>
  new timeseries.PanelBuilder().title(title).unit(unit).legend(legend()).showPoints(VisibilityMode.Always);

export const kpis = () =>
  dashboard({ uid: 'plantmesh-kpis', title: 'plantmesh / Plant KPIs', time: 'now-7d', refresh: '1m' }, [
    row('Quench line per shift (ISO 22400-2)'),
    place(
      new stat.PanelBuilder()
        .title('OEE and its factors, latest shift')
        .description(
          'Of the latest shift in the time range (the running shift so far): OEE = availability x effectiveness x quality ratio.',
        )
        .unit('percentunit')
        .decimals(1)
        .graphMode(BigValueGraphMode.None)
        .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .thresholds(oeeBands())
        .withTarget(
          sqlQuery(`select oee, availability, effectiveness, quality_ratio
from ${iso22400}
where ${inRange}
order by window_start desc limit 1`),
        ),
      'postgres',
      8,
    ),
    place(
      kpiSeries('OEE and its factors per shift', 'percentunit')
        .min(0)
        .withTarget(
          sqlQuery(
            `select window_start as "time", oee, availability, effectiveness, quality_ratio
from ${iso22400}
where ${inRange}
order by 1`,
            'time_series',
          ),
        ),
      'postgres',
      16,
    ),
    place(
      new table.PanelBuilder()
        .title('ISO 22400-2 KPIs of the quench line per shift')
        .description(
          'Plates produced, good, to rework and scrapped; ratios; plates per production hour; MTBF and MTTR in minutes.',
        )
        .overrideByRegexp(ratios, percent)
        .overrideByRegexp('^(mtbf|mttr)$', [{ id: 'unit', value: 'm' }])
        .withTarget(
          sqlQuery(`select window_start as "time", shift, pq as produced, gq as good, rq as rework, sq as scrap,
  oee, availability, effectiveness, quality_ratio, technical_efficiency, rework_ratio, scrap_ratio,
  throughput_rate as plates_per_hour, fe as failures, mtbf, mttr
from ${iso22400}
where ${inRange}
order by window_start desc`),
        ),
      'postgres',
      24,
      9,
    ),
    row('Steelmaking and heat treatment'),
    place(
      new barchart.PanelBuilder()
        .title('Yield per heat')
        .description('Good plate tonnes over the liquid steel cast, of the heats finished in the time range.')
        .unit('percentunit')
        .xField('heat')
        .legend(legend())
        .withTarget(
          sqlQuery(`select y.heat_id as heat, y.yield
from business.heat_yield y join curated.heats h on h.heat_id = y.heat_id
where $__timeFilter(h.finished_at)
order by h.finished_at`),
        ),
      'postgres',
    ),
    place(
      new table.PanelBuilder()
        .title('Heats: liquid steel, plates and yield')
        .overrideByRegexp(ratios, percent)
        .overrideByRegexp('^(liquid_steel|good_plate_tonnes)$', [{ id: 'unit', value: 'masst' }])
        .withTarget(
          sqlQuery(`select h.finished_at as "time", y.heat_id as heat, y.grade, y.liquid_steel, y.plates, y.good_plates,
  y.good_plate_tonnes, y.yield
from business.heat_yield y join curated.heats h on h.heat_id = y.heat_id
where $__timeFilter(h.finished_at)
order by h.finished_at desc`),
        ),
      'postgres',
    ),
    place(
      new timeseries.PanelBuilder()
        .title('Tonnage cast per strand and shift')
        .unit('masst')
        .legend(legend())
        .drawStyle(GraphDrawStyle.Bars)
        .fillOpacity(80)
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(
          sqlQuery(
            `select window_start as "time", strand as metric, tonnage
from business.tonnage_cast_per_shift
where ${inRange}
order by 1`,
            'time_series',
          ),
        ),
      'postgres',
    ),
    place(
      kpiSeries('Quench entry temperature, deviation from 910 °C per hour', 'celsius').withTarget(
        sqlQuery(
          `select window_start as "time", mean_abs_deviation as mean_deviation, max_abs_deviation as max_deviation
from business.quench_temperature_deviation_per_hour
where ${inRange}
order by 1`,
          'time_series',
        ),
      ),
      'postgres',
    ),
    row('Energy per shift'),
    place(
      kpiSeries('Electric energy per tonne cast', 'suffix: kWh/t').withTarget(
        sqlQuery(
          `select window_start as "time", energy_per_tonne
from business.energy_per_tonne_per_shift
where ${inRange}
order by 1`,
          'time_series',
        ),
      ),
      'postgres',
    ),
    place(
      kpiSeries('Quench line: comprehensive energy consumption (ISO 22400-2)', 'suffix: kWh/plate')
        .description("EC / PQ: the energy the quench line's meter counted per plate quenched.")
        .withTarget(
          sqlQuery(
            `select window_start as "time", comprehensive_energy_consumption
from business.iso22400_energy_quench_line_per_shift
where ${inRange}
order by 1`,
            'time_series',
          ),
        ),
      'postgres',
    ),
    row('Data quality'),
    place(
      new table.PanelBuilder()
        .title('Quarantined per curated definition')
        .description(
          'Raw events a curated definition refused (raw.quarantine, stage etl-curated), with the newest reason.',
        )
        .withTarget(
          sqlQuery(`select source as definition, count(*) as quarantined, count(*) filter (where replayed_at is null) as not_replayed,
  max(quarantined_at) as newest, (array_agg(reason order by quarantined_at desc, id desc))[1] as newest_reason
from raw.quarantine
where stage = 'etl-curated' and $__timeFilter(quarantined_at)
group by source
order by 2 desc`),
        ),
      'postgres',
      24,
    ),
  ]);
