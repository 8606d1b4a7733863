/**
 * The AsyncAPI 3.0.0 document of the mesh's streams: the two MQTT brokers (events, sensors) with the
 * topic filters the readers subscribe and the topics actually seen, the event payloads the curated
 * definitions accept on their topics, and the RabbitMQ exchanges and queues of ingestion, of the live
 * stream and of the catalog's registration events, with the mqtt (0.2.0) and amqp (0.3.0) bindings. Built from the readers' configuration, the
 * topics seen, the curated definitions and the broker topology (@plantmesh/core's `ingest`).
 */
import { catalogExchange, ingest } from '@plantmesh/core';
import type { CuratedDefinition } from '@plantmesh/etl-curated';
import { bindingKeysForFilter, liveExchange } from '@plantmesh/live-stream';
import { topicMatches } from '../discovery.js';
import { catalogEventSchema } from '../events.js';
import type { Asset } from '../model.js';
import { asyncApiVersion } from './schemas.js';

export type ReaderProfile = 'events' | 'sensors';

/** One mqtt-reader deployment, as its environment configures it. */
export interface ReaderStream {
  profile: ReaderProfile;
  /** MQTT_URL (credentials are not part of the document). */
  url: string;
  /** MQTT_TOPICS. */
  filters: string[];
  qos: 0 | 1 | 2;
  shareGroup?: string;
  clientId?: string;
  sessionExpirySeconds?: number;
}

/** A reader's stream from its environment variables, with the reader's defaults (packages/mqtt-reader). */
export function readerStreamFromEnv(env: Record<string, string | undefined>): ReaderStream {
  const profile = env.READER_PROFILE;
  if (profile !== 'events' && profile !== 'sensors') throw new Error('READER_PROFILE must be events or sensors');
  if (!env.MQTT_URL) throw new Error('MQTT_URL is required');
  const url = new URL(env.MQTT_URL);
  url.username = '';
  url.password = '';
  return {
    profile,
    url: url.toString().replace(/\/$/, ''),
    filters: (env.MQTT_TOPICS ?? '#')
      .split(',')
      .map((filter) => filter.trim())
      .filter(Boolean),
    qos: Number(env.MQTT_QOS ?? (profile === 'events' ? 1 : 0)) as 0 | 1 | 2,
    ...(env.MQTT_SHARE_GROUP ? { shareGroup: env.MQTT_SHARE_GROUP } : {}),
    ...(env.MQTT_CLIENT_ID ? { clientId: env.MQTT_CLIENT_ID } : {}),
    ...(profile === 'events' ? { sessionExpirySeconds: Number(env.MQTT_SESSION_EXPIRY_SECONDS ?? 604_800) } : {}),
  };
}

/** A topic seen on a broker (raw.events topics, metrics.series paths), with the unit of a sensor series. */
export interface SeenTopic {
  profile: ReaderProfile;
  topic: string;
  unit?: string;
}

export interface StreamsInput {
  title?: string;
  version: string;
  readers: ReaderStream[];
  topicsSeen?: SeenTopic[];
  /** The curated definitions: the events they take, by topic filter, with their payload schemas. */
  curated?: readonly CuratedDefinition[];
  amqp?: { url: string; vhost?: string };
  /** Channels for seen topics beyond this many are left out (counted in x-plantmesh-topics-omitted). */
  maxTopics?: number;
}

/** The topics seen, as discovery lists them (mqtt_topic assets that are not filters). */
export function seenTopicsOf(assets: readonly Asset[]): SeenTopic[] {
  return assets
    .filter((asset) => asset.kind === 'mqtt_topic' && !asset.properties.filter)
    .map((asset) => ({
      profile: asset.properties.broker === 'sensors' ? ('sensors' as const) : ('events' as const),
      topic: String(asset.properties.topic ?? asset.name),
      ...(asset.properties.unit ? { unit: String(asset.properties.unit) } : {}),
    }));
}

const sampleSchema = {
  type: 'object',
  required: ['ts', 'value'],
  properties: {
    ts: {
      oneOf: [
        { type: 'integer', description: 'epoch milliseconds' },
        { type: 'string', format: 'date-time' },
      ],
    },
    value: { type: ['number', 'boolean'] },
    quality: { type: 'string', enum: ['good', 'uncertain', 'bad'] },
    unit: { type: 'string', description: 'UNECE Recommendation 20 common code' },
  },
};

const messages = {
  event: {
    name: 'event',
    title: 'Plant event',
    summary: 'A JSON document from a plant publisher (MES / Level-2), with its own id in `id`',
    contentType: 'application/json',
    payload: {
      type: 'object',
      properties: { id: { type: ['string', 'integer'], description: 'The event id (deduplication)' } },
    },
    bindings: { mqtt: { payloadFormatIndicator: 1, contentType: 'application/json', bindingVersion: '0.2.0' } },
  },
  sample: {
    name: 'sample',
    title: 'Sensor sample',
    summary: 'One sample or an array of samples of the series named by the topic',
    contentType: 'application/json',
    payload: { oneOf: [sampleSchema, { type: 'array', items: sampleSchema }] },
    bindings: { mqtt: { payloadFormatIndicator: 1, contentType: 'application/json', bindingVersion: '0.2.0' } },
  },
  eventBatch: {
    name: 'eventBatch',
    title: 'Event batch',
    summary: 'A JSON array of event records (raw.events columns, the payload as it came)',
    contentType: 'application/json',
    headers: {
      type: 'object',
      properties: {
        [ingest.headers.count]: { type: 'integer' },
        [ingest.headers.source]: { type: 'string' },
      },
    },
    payload: { type: 'array', items: { type: 'object', required: ['id', 'topic', 'payload'] } },
    bindings: { amqp: { contentEncoding: 'utf-8', messageType: 'events', bindingVersion: '0.3.0' } },
  },
  sampleBatch: {
    name: 'sampleBatch',
    title: 'Sample batch',
    summary: 'A JSON array of [topic, unit, receivedAt, [[epoch ms, value, quality], ...]] entries',
    contentType: 'application/json',
    payload: { type: 'array', items: { type: 'array', minItems: 4, maxItems: 4 } },
    bindings: { amqp: { contentEncoding: 'utf-8', messageType: 'samples', bindingVersion: '0.3.0' } },
  },
  deadLetter: {
    name: 'deadLetter',
    title: 'Dead letter',
    summary: 'A message a reader or the writer refused, with the reason and the stage in its headers',
    headers: {
      type: 'object',
      properties: {
        [ingest.headers.reason]: { type: 'string' },
        [ingest.headers.stage]: { type: 'string' },
        [ingest.headers.topic]: { type: 'string' },
      },
    },
    bindings: { amqp: { messageType: 'dead-letter', bindingVersion: '0.3.0' } },
  },
  catalogEvent: {
    name: 'catalogEvent',
    title: 'Catalog registration event',
    summary:
      "A product registered, changed or removed, a discovery round's assets, or the periodic state (ADR 0021); at least once, numbered without gaps",
    contentType: 'application/json',
    // The published JSON Schema (packages/catalog/schemas/catalog-event.v1.schema.json), as a draft-07 payload.
    payload: (() => {
      const { $schema: _schema, $id: _id, ...schema } = catalogEventSchema();
      return schema;
    })(),
    bindings: { amqp: { contentEncoding: 'utf-8', messageType: 'catalog-event', bindingVersion: '0.3.0' } },
  },
  liveSamples: {
    name: 'liveSamples',
    title: 'Committed samples',
    summary: 'The samples of a committed batch of the series under one parent path, published after the commit',
    contentType: 'application/json',
    payload: {
      type: 'object',
      required: ['series'],
      properties: {
        series: {
          type: 'array',
          items: {
            type: 'object',
            required: ['path', 'samples'],
            properties: {
              path: { type: 'string' },
              unit: { type: ['string', 'null'] },
              samples: { type: 'array', items: { type: 'array', minItems: 3, maxItems: 3 } },
            },
          },
        },
      },
    },
    bindings: { amqp: { contentEncoding: 'utf-8', messageType: 'live-samples', bindingVersion: '0.3.0' } },
  },
};

/** A channel or operation id the document can use: letters, digits, `.`, `-`, `_`. */
function idFor(text: string, taken: Set<string>): string {
  const base = text
    .replaceAll('+', 'any')
    .replaceAll('#', 'all')
    .replace(/[^A-Za-z0-9._-]+/g, '_');
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
  taken.add(id);
  return id;
}

/** The definition's payload schema as an AsyncAPI (draft-07 compatible) schema. */
function payloadOf(definition: CuratedDefinition): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = definition.payloadSchema as Record<string, unknown>;
  return {
    ...schema,
    ...(definition.source.type
      ? {
          description: `${definition.product.description}; ${definition.source.type.field} = "${definition.source.type.equals}"`,
        }
      : { description: definition.product.description }),
  };
}

/** The AsyncAPI 3.0.0 document of the streams. */
export function streamsDocument(input: StreamsInput): Record<string, unknown> {
  const servers: Record<string, unknown> = {};
  const channels: Record<string, Record<string, unknown>> = {};
  const operations: Record<string, unknown> = {};
  const channelIds = new Set<string>();
  const operationIds = new Set<string>();
  const ref = (path: string) => ({ $ref: path });
  const componentMessage = (name: keyof typeof messages) => ref(`#/components/messages/${name}`);

  const addChannel = (key: string, channel: Record<string, unknown>) => {
    const id = idFor(key, channelIds);
    channels[id] = channel;
    return id;
  };
  const receive = (key: string, channel: string, summary: string, bindings?: Record<string, unknown>) => {
    const messageNames = Object.keys((channels[channel]?.messages as object) ?? {});
    operations[idFor(key, operationIds)] = {
      action: 'receive',
      channel: ref(`#/channels/${channel}`),
      summary,
      messages: messageNames.map((name) => ref(`#/channels/${channel}/messages/${name}`)),
      ...(bindings ? { bindings } : {}),
    };
  };
  const send = (key: string, channel: string, summary: string, bindings?: Record<string, unknown>) => {
    const messageNames = Object.keys((channels[channel]?.messages as object) ?? {});
    operations[idFor(key, operationIds)] = {
      action: 'send',
      channel: ref(`#/channels/${channel}`),
      summary,
      messages: messageNames.map((name) => ref(`#/channels/${channel}/messages/${name}`)),
      ...(bindings ? { bindings } : {}),
    };
  };

  for (const reader of input.readers) {
    const url = new URL(reader.url);
    servers[reader.profile] = {
      host: url.host,
      protocol: url.protocol.replace(/:$/, ''),
      protocolVersion: '5',
      title: `MQTT broker for ${reader.profile}`,
      summary:
        reader.profile === 'events'
          ? 'Plant events: QoS 1 on a persistent session; none lost, none stored twice'
          : 'Sensor samples: high volume, QoS 0 allowed, batched into RabbitMQ',
      bindings: {
        mqtt: {
          ...(reader.clientId ? { clientId: reader.clientId } : {}),
          cleanSession: reader.profile !== 'events',
          ...(reader.sessionExpirySeconds !== undefined ? { sessionExpiryInterval: reader.sessionExpirySeconds } : {}),
          bindingVersion: '0.2.0',
        },
      },
    };
  }
  const serverOf = (profile: ReaderProfile) => (servers[profile] ? [ref(`#/servers/${profile}`)] : undefined);
  const qosOf = (profile: ReaderProfile) => input.readers.find((reader) => reader.profile === profile)?.qos ?? 0;
  const mqttOperation = (profile: ReaderProfile) => ({ mqtt: { qos: qosOf(profile), bindingVersion: '0.2.0' } });

  // What the readers subscribe: every message on these filters enters the platform.
  for (const reader of input.readers) {
    for (const filter of reader.filters) {
      const id = addChannel(`${reader.profile}.subscription.${filter}`, {
        address: reader.shareGroup ? `$share/${reader.shareGroup}/${filter}` : filter,
        title: `${reader.profile} reader subscription ${filter}`,
        servers: serverOf(reader.profile),
        messages: {
          [reader.profile === 'events' ? 'event' : 'sample']: componentMessage(
            reader.profile === 'events' ? 'event' : 'sample',
          ),
        },
      });
      receive(
        `${reader.profile}.read.${filter}`,
        id,
        `The ${reader.profile} reader takes ${filter}`,
        mqttOperation(reader.profile),
      );
    }
  }

  // The events the curated definitions take, with their payload schemas.
  const curated = input.curated ?? [];
  // One message per definition in components, referred to by every channel that carries it.
  const productMessages: Record<string, unknown> = {};
  const definitionMessage = (definition: CuratedDefinition) => {
    const key = `curated.${definition.product.name}`;
    productMessages[key] ??= productMessage(definition);
    return ref(`#/components/messages/${key}`);
  };
  const productMessage = (definition: CuratedDefinition) => ({
    name: definition.product.name,
    title: `${definition.product.name} event`,
    summary: definition.product.description,
    contentType: 'application/json',
    payload: payloadOf(definition),
    bindings: { mqtt: { payloadFormatIndicator: 1, contentType: 'application/json', bindingVersion: '0.2.0' } },
    'x-plantmesh-product': definition.product.name,
  });
  for (const definition of curated) {
    for (const filter of definition.source.topics) {
      const id = addChannel(`events.${definition.product.name}.${filter}`, {
        address: filter,
        title: `${definition.product.name} events`,
        servers: serverOf('events'),
        messages: { [definition.product.name]: definitionMessage(definition) },
        'x-plantmesh-product': definition.product.name,
      });
      receive(
        `events.curate.${definition.product.name}.${filter}`,
        id,
        `Curated into curated.${definition.table}`,
        mqttOperation('events'),
      );
    }
  }

  // The topics seen, each with the messages it carries.
  const seen = [...(input.topicsSeen ?? [])].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  const limit = input.maxTopics ?? 500;
  for (const topic of seen.slice(0, limit)) {
    const matching =
      topic.profile === 'events'
        ? curated.filter((d) => d.source.topics.some((f) => topicMatches(f, topic.topic)))
        : [];
    const channelMessages: Record<string, unknown> =
      topic.profile === 'sensors'
        ? { sample: componentMessage('sample') }
        : matching.length > 0
          ? Object.fromEntries(matching.map((definition) => [definition.product.name, definitionMessage(definition)]))
          : { event: componentMessage('event') };
    addChannel(`${topic.profile}.topic.${topic.topic}`, {
      address: topic.topic,
      title: topic.topic,
      servers: serverOf(topic.profile),
      messages: channelMessages,
      ...(topic.unit ? { 'x-plantmesh-unit': topic.unit } : {}),
      'x-plantmesh-seen': true,
    });
  }

  // RabbitMQ: ingestion and the live stream.
  if (input.amqp) {
    const url = new URL(input.amqp.url);
    const vhost = input.amqp.vhost ?? '/';
    servers.rabbitmq = {
      host: url.host,
      protocol: url.protocol.replace(/:$/, ''),
      protocolVersion: '0.9.1',
      title: 'RabbitMQ',
      summary: 'Durable queues between the readers and the writer; the live stream of committed samples',
    };
    const rabbit = [ref('#/servers/rabbitmq')];
    const exchange = (name: string, type: string) => ({ name, type, durable: true, autoDelete: false, vhost });
    const queue = (name: string) => ({ name, durable: true, exclusive: false, autoDelete: false, vhost });
    const ingestEvents = addChannel('amqp.ingest.events', {
      address: ingest.routingKeys.events,
      title: `${ingest.exchange} (routing key ${ingest.routingKeys.events})`,
      servers: rabbit,
      messages: { eventBatch: componentMessage('eventBatch') },
      bindings: { amqp: { is: 'routingKey', exchange: exchange(ingest.exchange, 'direct'), bindingVersion: '0.3.0' } },
    });
    const ingestSamples = addChannel('amqp.ingest.samples', {
      address: ingest.routingKeys.samples,
      title: `${ingest.exchange} (routing key ${ingest.routingKeys.samples})`,
      servers: rabbit,
      messages: { sampleBatch: componentMessage('sampleBatch') },
      bindings: { amqp: { is: 'routingKey', exchange: exchange(ingest.exchange, 'direct'), bindingVersion: '0.3.0' } },
    });
    const deadLetters = addChannel('amqp.dead-letter', {
      address: '',
      title: `${ingest.deadLetterExchange} (fanout)`,
      servers: rabbit,
      messages: { deadLetter: componentMessage('deadLetter') },
      bindings: {
        amqp: { is: 'routingKey', exchange: exchange(ingest.deadLetterExchange, 'fanout'), bindingVersion: '0.3.0' },
      },
    });
    const queueChannel = (name: string, message: keyof typeof messages, summary: string) =>
      addChannel(`amqp.queue.${name}`, {
        address: name,
        title: `queue ${name}`,
        summary,
        servers: rabbit,
        messages: { [message]: componentMessage(message) },
        bindings: { amqp: { is: 'queue', queue: queue(name), bindingVersion: '0.3.0' }, 'x-queue-type': 'quorum' },
      });
    const eventsQueue = queueChannel(
      ingest.queues.events,
      'eventBatch',
      'Quorum queue; a full queue refuses publishers (back-pressure to MQTT)',
    );
    const samplesQueue = queueChannel(
      ingest.queues.samples,
      'sampleBatch',
      'Quorum queue; when full the oldest batches are dropped',
    );
    const deadLetterQueue = queueChannel(
      ingest.queues.deadLetter,
      'deadLetter',
      'Refused messages, stored in raw.quarantine',
    );
    const filters = [...new Set(input.readers.filter((r) => r.profile === 'sensors').flatMap((r) => r.filters))];
    const live = addChannel('amqp.live', {
      address: 'samples.{parent}',
      title: `${liveExchange} (topic exchange)`,
      summary: `Committed samples, a message per parent path (a cell's series together); bind with the keys of an MQTT filter's parent levels and keep the matching series, e.g. ${(filters[0] ? bindingKeysForFilter(filters[0]) : ['samples.#']).join(' and ')}`,
      servers: rabbit,
      parameters: {
        parent: {
          description:
            "The parent path of the message's series, its levels as dot-separated words (dots and % escaped)",
        },
      },
      messages: { liveSamples: componentMessage('liveSamples') },
      bindings: { amqp: { is: 'routingKey', exchange: exchange(liveExchange, 'topic'), bindingVersion: '0.3.0' } },
    });
    const persistent = { amqp: { deliveryMode: 2, mandatory: true, bindingVersion: '0.3.0' } };
    for (const profile of ['events', 'sensors'] as const) {
      if (!input.readers.some((reader) => reader.profile === profile)) continue;
      send(
        `${profile}-reader.publish`,
        profile === 'events' ? ingestEvents : ingestSamples,
        `The ${profile} reader publishes (publisher confirms)`,
        persistent,
      );
      send(
        `${profile}-reader.dead-letter`,
        deadLetters,
        `The ${profile} reader dead-letters what it refuses`,
        persistent,
      );
    }
    const acked = { amqp: { ack: true, bindingVersion: '0.3.0' } };
    receive('amqp-writer.events', eventsQueue, 'The writer stores events in raw.events, then acknowledges', acked);
    receive(
      'amqp-writer.samples',
      samplesQueue,
      'The writer stores samples in metrics.samples, then acknowledges',
      acked,
    );
    receive('amqp-writer.dead-letter', deadLetterQueue, 'The writer stores refused messages in raw.quarantine', acked);
    send('amqp-writer.live', live, 'After each commit, the committed samples per parent path', {
      amqp: { deliveryMode: 1, bindingVersion: '0.3.0' },
    });
    receive(
      'live-consumer',
      live,
      'Live consumers (the I3X API subscriptions, the SDK) bind a queue of their own',
      acked,
    );
    const catalogEvents = addChannel('amqp.catalog', {
      address: '{routingKey}',
      title: `${catalogExchange} (topic exchange)`,
      summary:
        'Registration events of the data-product catalog; bind product.# (or product.*.<domain>.#, product.removed.#), assets.changed.#, catalog.state',
      servers: rabbit,
      parameters: {
        routingKey: {
          description:
            'product.<registered|changed|removed>.<domain>.<name>, assets.changed.<source> or catalog.state (dots and % in a word escaped)',
        },
      },
      messages: { catalogEvent: componentMessage('catalogEvent') },
      bindings: { amqp: { is: 'routingKey', exchange: exchange(catalogExchange, 'topic'), bindingVersion: '0.3.0' } },
    });
    send(
      'catalog.events',
      catalogEvents,
      'After each committed change, from its outbox, with publisher confirms (at least once)',
      { amqp: { deliveryMode: 2, bindingVersion: '0.3.0' } },
    );
    receive(
      'catalog-consumer',
      catalogEvents,
      'Services that react to registrations bind a queue of their own; deduplicate by id, resync on a sequence gap',
      acked,
    );
  }

  return {
    asyncapi: asyncApiVersion,
    id: 'urn:plantmesh:streams',
    info: {
      title: input.title ?? 'plantmesh streams',
      version: input.version,
      description:
        "The MQTT streams the plant publishes into the mesh (events and sensors) and the RabbitMQ exchanges and queues between the readers, the writer and the live consumers, and the catalog's registration events.",
    },
    defaultContentType: 'application/json',
    servers,
    channels,
    operations,
    components: { messages: { ...messages, ...productMessages } },
    ...(seen.length > limit ? { 'x-plantmesh-topics-omitted': seen.length - limit } : {}),
  };
}
