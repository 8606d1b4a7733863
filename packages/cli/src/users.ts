import { parseArgs } from 'node:util';
import { env, parseEnv } from '@plantmesh/core';
import { createUser, dropUser, listUsers, rotateUser, type UserRole, userRoles } from '@plantmesh/schema';
import pg from 'pg';

const usage = `usage: plantmesh users create NAME --role ${Object.keys(userRoles).join('|')} | list | rotate NAME | drop NAME
  DATABASE_URL names the server and an administrator's login (roles are the server's, not one database's)`;

/** `plantmesh users`: PostgreSQL logins for the people, models and dashboards that use the SDK or Grafana. */
export async function usersCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { role: { type: 'string' } },
  });
  const name = positionals[0];
  const known = ['create', 'list', 'rotate', 'drop'];
  if (!action || !known.includes(action) || (action !== 'list' && !name)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const { DATABASE_URL } = parseEnv({ DATABASE_URL: env.url(['postgres', 'postgresql']) });
  const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'plantmesh-users' });
  await client.connect();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    if (action === 'list') {
      const users = await listUsers(client);
      for (const user of users) say(`${user.name}\t${user.role}\tpassword set ${user.since}`);
      say(`${users.length} user(s)`);
    } else if (action === 'create') {
      const password = await createUser(client, name as string, values.role as UserRole);
      say(`created ${name} (${values.role}); its password, shown only now:\n${password}`);
    } else if (action === 'rotate') {
      const password = await rotateUser(client, name as string);
      say(`new password of ${name}, shown only now (the old one no longer works):\n${password}`);
    } else {
      await dropUser(client, name as string);
      say(`dropped ${name}`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`plantmesh users ${action}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.end();
  }
}
