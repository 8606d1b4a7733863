#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, packageVersion, parseEnv } from '@plantmesh/core';
import { importCommand } from '@plantmesh/information-model/store';
import { storeUrlEnv, storeUrls } from '@plantmesh/schema';
import { simulateCommand, simulateUsage } from '@plantmesh/simulator';
import { catalogCommand } from './catalog.js';
import { etlCommand } from './etl.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { progressBar } from './progress.js';
import { listQuarantine, replayQuarantine } from './quarantine.js';
import { sdkCommand } from './sdk.js';
import { up } from './up.js';
import { usersCommand } from './users.js';

const usage = `usage: plantmesh <command> [options]

commands:
  up [--dir DIR] [--ports-from PORT] [--observe]
                                       start the local platform (servers, migrations, services, simulator;
                                       with --observe also Prometheus and the alert rules); Ctrl-C stops it
  migrate                              apply pending migrations (DATABASE_URL, <STORE>_DATABASE_URL) and set the
                                       services' logins (<SERVICE>_DB_PASSWORD); with AMQP_URL and
                                       RABBITMQ_MANAGEMENT_URL also the RabbitMQ topology and the services'
                                       users (<SERVICE>_AMQP_PASSWORD)
  simulate [options]                   run the plant simulator against MQTT brokers (simulate --help)
  quarantine list [--all] [--limit N]  what was refused, with the reason (RAW_DATABASE_URL or DATABASE_URL)
  quarantine replay (--id N ... | --reason PATTERN) [--source NAME] --mqtt-url URL
                                       publish quarantined payloads again to their topic, after fixing the
                                       cause (--source: only rows of that reader, e.g. events or sensors)
  etl replay [--definition NAME] (--quarantine | [--from TIME] [--to TIME])
                                       curate again with the definition applied now: the events the ETL
                                       quarantined, or those received in a time range (plantmesh etl)
  users create NAME --role reader|results-writer
                                       a PostgreSQL login for a person, a model or Grafana; prints its
                                       generated password once (DATABASE_URL: an administrator's)
  users list | rotate NAME | drop NAME the logins made so; rotate prints a new password, the old one stops
  keys create NAME --scopes read,write,subscribe
                                       an I3X API key, printed once (I3X_DATABASE_URL or DATABASE_URL)
  keys list [--all] | revoke NAME      the API keys (--all: revoked ones too); a revoked key stops at once
  sdk generate [--out FILE]           TypeScript row types of the curated products and KPIs for @plantmesh/sdk
                                       (PLANTMESH_URL or DATABASE_URL)
  import nodeset FILE.xml [FILE.xml ...] [--max-mib N] [--warnings]
                                       import OPC UA NodeSet2 information models into the I3X address space
                                       (CURATED_DATABASE_URL or DATABASE_URL; the UA base first, then each
                                       companion specification after those it requires)
  import assets FILE.yaml [--max-mib N] the plant's asset-model file (docs/asset-model.md): equipment names and
                                       types, machines and parts, which series belong to or monitor what;
                                       replaces the one imported before
  catalog apply FILE [FILE ...] [--dry-run]
                                       validate ODCS data contracts and ODPS data products (YAML or JSON)
                                       against the published schemas and register them with the catalog
                                       (CATALOG_URL, CATALOG_TOKEN; without CATALOG_URL only validate)
  help                                 show this text`;

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const { values } = parseArgs({
        args: rest,
        options: {
          dir: { type: 'string', default: resolve(repoRoot, '.plantmesh') },
          'ports-from': { type: 'string', default: '25400' },
          observe: { type: 'boolean', default: false },
        },
      });
      const portsFrom = Number(values['ports-from']);
      if (!Number.isInteger(portsFrom) || portsFrom < 1024 || portsFrom > 45_000) {
        process.stderr.write('plantmesh up: --ports-from must be a port number from 1024 to 45000\n');
        return 2;
      }
      const print = (line: string) => process.stdout.write(`${line}\n`);
      // Listening before the start: a Ctrl-C while the servers come up stops them once they are up.
      const stopRequested = new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      const platform = await up({ dir: resolve(values.dir), portsFrom, repoRoot, observe: values.observe, print });
      await stopRequested;
      await platform.stop();
      return 0;
    }
    case 'migrate': {
      parseArgs({ args: rest, options: {} });
      const log = createLogger({
        service: 'plantmesh-migrate',
        version: packageVersion(new URL('../package.json', import.meta.url)),
      });
      await migrateCommand(log);
      return 0;
    }
    case 'simulate': {
      if (rest.includes('--help')) {
        process.stdout.write(`${simulateUsage}\n`);
        return 0;
      }
      await simulateCommand(rest, (line) => process.stdout.write(`${line}\n`));
      return 0;
    }
    case 'quarantine':
      return quarantineCommand(rest);
    case 'users':
      return usersCommand(rest);
    case 'keys':
      return keysCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case 'sdk':
      return sdkCommand(rest, (text) => process.stdout.write(`${text}\n`));
    case 'import':
      return importCommand(rest, process.env, (line) => process.stdout.write(`${line}\n`));
    case 'etl':
      return etlCommand(rest);
    case 'catalog':
      return catalogCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`plantmesh: unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

async function quarantineCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      all: { type: 'boolean', default: false },
      limit: { type: 'string', default: '50' },
      id: { type: 'string', multiple: true, default: [] },
      reason: { type: 'string' },
      source: { type: 'string' },
      'mqtt-url': { type: 'string' },
    },
  });
  const databaseUrl = storeUrls(parseEnv(storeUrlEnv), ['raw']).raw;
  if (action === 'list') {
    const rows = await listQuarantine(databaseUrl, { all: values.all, limit: Number(values.limit) || 50 });
    for (const row of rows) {
      const replayed = row.replayed_at ? ` (replayed ${row.replayed_at.toISOString()})` : '';
      process.stdout.write(
        `${row.id}\t${row.quarantined_at.toISOString()}\t${row.stage}\t${row.topic ?? '-'}\t${row.bytes} B\t${row.reason}${replayed}\n`,
      );
    }
    process.stdout.write(`${rows.length} row(s)\n`);
    return 0;
  }
  if (action === 'replay') {
    const ids = values.id.map(Number);
    if (!values['mqtt-url'] || (ids.length === 0 && !values.reason) || ids.some((id) => !Number.isInteger(id))) {
      process.stderr.write(
        'plantmesh quarantine replay: give --mqtt-url and --id N (whole numbers) or --reason PATTERN\n',
      );
      return 2;
    }
    const progress = progressBar();
    const result = await replayQuarantine(
      databaseUrl,
      values['mqtt-url'],
      { ids, reasonLike: values.reason, source: values.source },
      (done, total) => progress('replaying', done, total),
    );
    for (const skipped of result.skipped) process.stdout.write(`skipped ${skipped.id}: ${skipped.why}\n`);
    process.stdout.write(`replayed ${result.replayed.length} payload(s): ${result.replayed.join(', ') || '-'}\n`);
    return 0;
  }
  process.stderr.write(`plantmesh quarantine: say list or replay\n${usage}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`plantmesh: ${(error as Error).message}\n`);
      process.exit(2);
    }
    // One line for the user; the stack only when asked for (DEBUG=1).
    const detail = error instanceof Error ? (process.env.DEBUG ? error.stack : error.message) : String(error);
    process.stderr.write(`plantmesh ${process.argv[2] ?? ''}: ${detail}\n`);
    process.exit(1);
  },
);
