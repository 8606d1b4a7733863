/** The plant as plantmesh stores it: latest values and trends of the series, events, quarantine. */
import { TextBoxVariableBuilder, VariableHide } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboard, sql } from './shared.js';

/** A LIKE pattern over the series' paths (site/area/line/cell/tag). */
const seriesVariable = () =>
  new TextBoxVariableBuilder('series')
    .label('series (path pattern)')
    .defaultValue('%')
    .current({ text: '%', value: '%' })
    .hide(VariableHide.DontHide);

export const plant = () =>
  dashboard({ uid: 'plantmesh-plant', title: 'plantmesh / Plant', variables: [seriesVariable()] }, [
    sql(
      'Latest values',
      `select s.path as series, l.value, s.unit, case l.quality when 0 then 'good' when 1 then 'uncertain' else 'bad' end as quality, l.ts as "time"
from metrics.latest l join metrics.series s on s.id = l.series_id
where s.path like '$series' order by s.path limit 200`,
      'table',
      24,
    ),
    sql(
      'Trends',
      `select date_bin('10 seconds', m.ts, timestamp '2000-01-01') as time, s.path as metric, avg(m.value) as value
from metrics.samples m join metrics.series s on s.id = m.series_id
where $__timeFilter(m.ts) and s.path like '$series' and m.series_id in (select id from metrics.series where path like '$series' order by id limit 10)
group by 1, 2 order by 1`,
      'timeseries',
      24,
    ),
    sql(
      'Recent events',
      `select stored_at as "time", payload->>'type' as type, topic, id, payload->>'heatId' as heat, payload->>'plateId' as plate
from raw.events order by seq desc limit 50`,
      'table',
      16,
    ),
    sql(
      'Events per type, last hour',
      `select payload->>'type' as type, count(*) as events from raw.events
where stored_at > now() - interval '1 hour' group by 1 order by 2 desc`,
      'barchart',
      8,
    ),
    sql(
      'Quarantined, not replayed',
      `select stage, reason, count(*) as payloads, max(quarantined_at) as last
from raw.quarantine where replayed_at is null group by 1, 2 order by 3 desc limit 20`,
      'table',
      24,
    ),
  ]);
