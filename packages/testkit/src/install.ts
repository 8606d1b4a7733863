import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** Where Debian puts each server, and the package that brings it. */
const servers = {
  postgres: { package: 'postgresql', find: findPostgresBin },
  rabbitmq: { package: 'rabbitmq-server', find: () => existing('/usr/lib/rabbitmq/bin/rabbitmq-server') },
  mosquitto: { package: 'mosquitto', find: () => existing('/usr/sbin/mosquitto') },
  promtool: { package: 'prometheus', find: () => existing('/usr/bin/promtool') },
  prometheus: { package: 'prometheus', find: () => existing('/usr/bin/prometheus') },
} as const;

export type ServerKind = keyof typeof servers;

function existing(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}

/** The bin folder of the newest PostgreSQL installed from Debian's packages. */
function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(`${root}/${version}/bin/postgres`))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? `${root}/${versions[0]}/bin` : undefined;
}

/**
 * The path of each requested server, installing the missing ones from Debian's packages when running
 * as root (as on a fresh CI machine); otherwise a clear error that says what to install.
 */
export function ensureInstalled(...kinds: ServerKind[]): Record<ServerKind, string> {
  const missing = kinds.filter((kind) => !servers[kind].find());
  if (missing.length > 0) {
    const packages = missing.map((kind) => servers[kind].package);
    if (process.getuid?.() !== 0) {
      throw new Error(`missing servers: install them with: sudo apt-get install -y ${packages.join(' ')}`);
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
  }
  const paths = {} as Record<ServerKind, string>;
  for (const kind of kinds) {
    const path = servers[kind].find();
    if (!path) throw new Error(`${kind} is still missing after installing ${servers[kind].package}`);
    paths[kind] = path;
  }
  return paths;
}
