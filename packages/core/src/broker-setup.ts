import amqp, { type ConfirmChannel } from 'amqplib';
import { urlWithLogin } from './credentials.js';
import { declareIngestTopology } from './ingest.js';

/**
 * The RabbitMQ user of each plantmesh service and what it may do, as RabbitMQ's configure / write /
 * read regexes over exchange and queue names: a reader publishes to the ingest exchanges only, the
 * writer consumes its queues and publishes what it committed to the live stream (so does the I3X API for
 * the values written through it), a live reader binds a queue of its own to the live stream, the catalog
 * publishes its registration events; no one else may declare or delete anything (the administrator declares
 * the topology, see setupBroker).
 */
export const brokerUsers = {
  'events-reader': {
    user: 'plantmesh-events-reader',
    configure: '^$',
    write: '^plantmesh\\.(ingest|dead-letter)$',
    read: '^$',
  },
  'sensors-reader': {
    user: 'plantmesh-sensors-reader',
    configure: '^$',
    write: '^plantmesh\\.(ingest|dead-letter)$',
    read: '^$',
  },
  'amqp-writer': {
    user: 'plantmesh-amqp-writer',
    configure: '^$',
    write: '^plantmesh\\.live$',
    read: '^plantmesh\\.(events|samples|dead-letter)$',
  },
  // Its subscriptions' live-stream consumer: as the live reader, a server-named queue of its own bound to
  // plantmesh.live; and it publishes the values written through it (PUT /objects/value) there.
  'i3x-api': {
    user: 'plantmesh-i3x-api',
    configure: '^amq\\.gen-.*$',
    write: '^(plantmesh\\.live|amq\\.gen-.*)$',
    read: '^(plantmesh\\.live|amq\\.gen-.*)$',
  },
  // The catalog publishes its registration events (ADR 0021) and nothing else: no queue, no consuming.
  catalog: {
    user: 'plantmesh-catalog',
    configure: '^$',
    write: '^plantmesh\\.catalog$',
    read: '^$',
  },
} as const;

/**
 * RabbitMQ users of the platform's clients rather than its services: live consumers (the SDK's live
 * values) declare a server-named queue of their own and bind it to the live stream, nothing else.
 */
export const clientBrokerUsers = {
  'live-reader': {
    user: 'plantmesh-live-reader',
    configure: '^amq\\.gen-.*$',
    write: '^amq\\.gen-.*$',
    read: '^(plantmesh\\.live|amq\\.gen-.*)$',
  },
} as const;

export type BrokerService = keyof typeof brokerUsers;
export type BrokerUser = BrokerService | keyof typeof clientBrokerUsers;

const everyBrokerUser = { ...brokerUsers, ...clientBrokerUsers };

/** The services' and the clients' users, by the name their password variable takes (<NAME>_AMQP_PASSWORD). */
export const brokerUserNames = Object.keys(everyBrokerUser) as BrokerUser[];

/** An AMQP URL with a service's (or a client's) user in place of the one it has. */
export function brokerUrl(url: string, who: BrokerUser, password: string): string {
  return urlWithLogin(url, everyBrokerUser[who].user, password);
}

/**
 * Checks, without declaring anything, that the exchanges and queues a service uses exist: a service's
 * user may not configure the broker. A missing one closes the channel and fails the (re)connection,
 * which is tried again with backoff until the administrator has declared the topology.
 */
export async function checkIngestTopology(
  channel: ConfirmChannel,
  uses: { exchanges?: string[]; queues?: string[] },
): Promise<void> {
  try {
    for (const exchange of uses.exchanges ?? []) await channel.checkExchange(exchange);
    for (const queue of uses.queues ?? []) await channel.checkQueue(queue);
  } catch (error) {
    throw new Error(
      `the RabbitMQ topology is not declared yet (${(error as Error).message}); \`plantmesh migrate\` declares it`,
    );
  }
}

export interface BrokerSetup {
  /** AMQP URL of the administrator, who declares the topology. */
  amqpUrl: string;
  /** The management API with the administrator's credentials, e.g. http://admin:secret@rabbitmq:15672. */
  managementUrl: string;
  vhost?: string;
  /** Passwords of the services' users; a user without one is left as the operator made it. */
  passwords: Partial<Record<BrokerUser, string>>;
}

/**
 * As the administrator: declares the ingest topology over AMQP, then creates or updates each service's
 * user (no tags: no management UI) and sets its permissions through the management API. Idempotent:
 * it runs with every migration, so that a rotated password reaches the broker with the next upgrade.
 */
export async function setupBroker(setup: BrokerSetup): Promise<BrokerUser[]> {
  const connection = await amqp.connect(setup.amqpUrl);
  try {
    await declareIngestTopology(await connection.createConfirmChannel());
  } finally {
    await connection.close();
  }
  const management = new URL(setup.managementUrl);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(management.username)}:${decodeURIComponent(management.password)}`).toString('base64')}`;
  const base = `${management.protocol}//${management.host}${management.pathname.replace(/\/$/, '')}/api`;
  const vhost = encodeURIComponent(setup.vhost ?? '/');
  const put = async (path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      throw new Error(`RabbitMQ management API: PUT ${path} answered ${response.status} ${await response.text()}`);
    }
  };
  const done: BrokerUser[] = [];
  for (const [service, { user, configure, write, read }] of Object.entries(everyBrokerUser) as Array<
    [BrokerUser, (typeof everyBrokerUser)[BrokerUser]]
  >) {
    const password = setup.passwords[service];
    if (!password) continue;
    await put(`/users/${encodeURIComponent(user)}`, { password, tags: '' });
    await put(`/permissions/${vhost}/${encodeURIComponent(user)}`, { configure, write, read });
    done.push(service);
  }
  return done;
}
