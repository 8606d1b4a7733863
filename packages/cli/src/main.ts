#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, createLogger, packageVersion } from '@plantmesh/core';
import { simulateCommand, simulateUsage } from '@plantmesh/simulator';
import { migrateCommand } from './migrate.js';
import { up } from './up.js';

const usage = `usage: plantmesh <command> [options]

commands:
  up [--dir DIR] [--ports-from PORT] [--observe]
                                       start the local platform (servers, migrations, services, simulator;
                                       with --observe also Prometheus and the alert rules); Ctrl-C stops it
  migrate                              apply pending migrations; reads DATABASE_URL and <STORE>_DATABASE_URL
  simulate [options]                   run the plant simulator against MQTT brokers (simulate --help)
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
      const platform = await up({ dir: resolve(values.dir), portsFrom, repoRoot, observe: values.observe, print });
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
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
