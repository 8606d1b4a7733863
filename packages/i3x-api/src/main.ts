import { readFileSync } from 'node:fs';
import type { Server } from 'node:https';
import { ConfigError, connectPostgres, runService } from '@plantmesh/core';
import { storeUrls } from '@plantmesh/schema';
import { ApiKeyStore } from './auth/api-keys.js';
import { OidcVerifier } from './auth/oidc.js';
import { i3xEnv } from './config.js';
import { LastValues } from './last-values.js';
import { ModelReader } from './model.js';
import { buildServer, defaultLimits } from './server.js';
import { LiveFeed } from './subscriptions/feed.js';
import { SubscriptionStore } from './subscriptions/store.js';
import { StreamHub } from './subscriptions/streams.js';
import { ModelSync, storePlatformOnce } from './sync.js';
import { ValueReader } from './values.js';

await runService(
  { name: 'i3x-api', packageJson: new URL('../package.json', import.meta.url), env: i3xEnv },
  async (runtime) => {
    const { config, log, metrics, shutdown, version } = runtime;
    // Refused before anything connects: HTTPS needs both files, plain HTTP must be asked for.
    if (Boolean(config.TLS_CERT_FILE) !== Boolean(config.TLS_KEY_FILE)) {
      throw new ConfigError('invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE are set together (PEM files)');
    }
    if (!config.TLS_CERT_FILE && !config.ALLOW_PLAIN_HTTP) {
      throw new ConfigError(
        'invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE are required (the API serves HTTPS), or ALLOW_PLAIN_HTTP=true for local use',
      );
    }
    if (config.OIDC_ISSUER && !config.OIDC_AUDIENCE) {
      throw new ConfigError(
        'invalid configuration: OIDC_AUDIENCE is required with OIDC_ISSUER (the audience tokens must name)',
      );
    }
    const readTls = () => {
      try {
        return {
          cert: readFileSync(config.TLS_CERT_FILE as string),
          key: readFileSync(config.TLS_KEY_FILE as string),
        };
      } catch (error) {
        throw new ConfigError(
          `invalid configuration: TLS_CERT_FILE or TLS_KEY_FILE cannot be read (${(error as Error).message})`,
        );
      }
    };
    const tls = config.TLS_CERT_FILE ? readTls() : undefined;

    const urls = storeUrls(config, ['curated', 'metrics', 'i3x']);
    const curated = await connectPostgres(runtime, urls.curated, 'postgres-curated');
    const metricsStore =
      urls.metrics === urls.curated ? curated : await connectPostgres(runtime, urls.metrics, 'postgres-metrics');
    // One pool per database: updates write a value and its audit row in one transaction when they share one.
    const i3xStore =
      urls.i3x === urls.curated
        ? curated
        : urls.i3x === urls.metrics
          ? metricsStore
          : await connectPostgres(runtime, urls.i3x, 'postgres-i3x');
    await curated.waitForTables(['curated.model_objects', 'curated.definitions'], shutdown.signal);
    await metricsStore.waitForTables(['metrics.series', 'metrics.latest', 'metrics.samples'], shutdown.signal);
    await i3xStore.waitForTables(['i3x.api_keys', 'i3x.update_audit'], shutdown.signal);

    await storePlatformOnce(curated.pool);
    const sync = new ModelSync({
      curated: curated.pool,
      metrics: metricsStore.pool,
      plant: { uri: config.PLANT_NAMESPACE_URI, displayName: config.PLANT_NAMESPACE_NAME },
      log,
      intervalMs: config.MODEL_SYNC_MS,
    });
    await sync.round();

    const apiKeys = new ApiKeyStore(i3xStore.pool, { log, cacheMs: config.API_KEY_CACHE_MS });
    apiKeys.start();
    shutdown.add('api keys', () => apiKeys.close());
    const oidc = config.OIDC_ISSUER
      ? new OidcVerifier({
          issuer: config.OIDC_ISSUER,
          audience: config.OIDC_AUDIENCE as string,
          ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
          scopesClaim: config.OIDC_SCOPES_CLAIM,
          scopePrefix: config.OIDC_SCOPE_PREFIX === 'none' ? '' : config.OIDC_SCOPE_PREFIX,
        })
      : undefined;
    const trustProxy = config.TRUST_PROXY;
    const limits = {
      maxBodyBytes: config.MAX_BODY_BYTES,
      maxBulkItems: config.MAX_BULK_ITEMS,
      maxCompositionDepth: config.MAX_COMPOSITION_DEPTH,
      maxComponents: config.MAX_COMPONENTS,
      maxObjects: config.MAX_OBJECTS,
      maxHistoryValues: config.MAX_HISTORY_VALUES,
      maxFutureMs: config.MAX_FUTURE_MS,
    };
    let subscriptions: { store: SubscriptionStore; hub: StreamHub } | undefined;
    let lastValues: LastValues | undefined;
    if (config.AMQP_URL) {
      await i3xStore.waitForTables(['i3x.subscriptions'], shutdown.signal);
      const model = new ModelReader(curated.pool, { maxObjects: config.MAX_OBJECTS });
      const store = new SubscriptionStore(
        i3xStore.pool,
        metricsStore.pool,
        model,
        new ValueReader(model, curated.pool, metricsStore.pool, { ...defaultLimits, ...limits }),
        {
          ttlMs: config.SUBSCRIPTION_TTL_MS,
          maxQueued: config.MAX_SUBSCRIPTION_QUEUE,
          maxBatches: config.MAX_UNACKED_BATCHES,
          maxItems: config.MAX_SUBSCRIPTION_ITEMS,
          maxSubscriptions: config.MAX_SUBSCRIPTIONS,
          keepaliveMs: config.SSE_KEEPALIVE_MS,
        },
      );
      const hub: StreamHub = new StreamHub({
        store,
        pool: i3xStore.pool,
        log,
        registry: metrics,
        onWatchChanged: () => void feed.rebind(),
        publish: (messages) => feed.publish(messages),
      });
      lastValues =
        config.LAST_VALUES_MAX_AGE_MS > 0
          ? new LastValues({
              maxAgeMs: config.LAST_VALUES_MAX_AGE_MS,
              capacity: config.LAST_VALUES_CAPACITY,
              onPathsChanged: () => void feed.rebind(),
              registry: metrics,
            })
          : undefined;
      const feed = new LiveFeed({
        url: config.AMQP_URL,
        sink: hub,
        log,
        registry: metrics,
        ...(lastValues ? { lastValues } : {}),
      });
      feed.start();
      hub.start();
      shutdown.add('live stream', () => feed.stop());
      shutdown.add('streams', () => hub.stop());
      subscriptions = { store, hub };
    } else {
      log.warn('AMQP_URL is not set: subscriptions are not served (they are fed by the live stream)');
    }
    const app = await buildServer({
      curated: curated.pool,
      metrics: metricsStore.pool,
      i3x: i3xStore.pool,
      log,
      version,
      serverName: config.SERVER_NAME,
      registry: metrics,
      limits,
      ...(subscriptions ? { subscriptions } : {}),
      ...(lastValues ? { lastValues } : {}),
      auth: {
        apiKeys,
        ...(oidc ? { oidc } : {}),
        rateLimits: {
          max: config.RATE_LIMIT_MAX,
          anonymousMax: config.RATE_LIMIT_ANONYMOUS_MAX,
          windowMs: config.RATE_LIMIT_WINDOW_MS,
        },
      },
      ...(tls ? { https: tls } : {}),
      ...(trustProxy === undefined
        ? {}
        : {
            trustProxy:
              trustProxy === 'true'
                ? true
                : trustProxy === 'false'
                  ? false
                  : /^\d+$/.test(trustProxy)
                    ? Number(trustProxy)
                    : trustProxy,
          }),
    });
    sync.start();
    shutdown.add('model sync', () => sync.stop());
    await app.listen({ host: config.I3X_HOST, port: config.I3X_PORT });
    if (tls) {
      // A renewed certificate (cert-manager rewrites the Secret's files) is taken without a restart.
      let current = `${tls.cert.toString('base64')}/${tls.key.toString('base64')}`;
      const reload = setInterval(() => {
        try {
          const next = readTls();
          const stamp = `${next.cert.toString('base64')}/${next.key.toString('base64')}`;
          if (stamp === current) return;
          (app.server as Server).setSecureContext({ ...next, minVersion: 'TLSv1.2' });
          current = stamp;
          log.info('TLS certificate reloaded');
        } catch (error) {
          log.warn({ err: error }, 'TLS certificate not reloaded; the one before stays in use');
        }
      }, config.TLS_RELOAD_MS);
      reload.unref();
      shutdown.add('tls reload', () => clearInterval(reload));
    }
    // Registered last, so that it stops first: no new requests, those in flight finish.
    shutdown.add('http', () => app.close());
    log.info(
      { host: config.I3X_HOST, port: config.I3X_PORT, https: Boolean(tls), oidc: config.OIDC_ISSUER ?? null },
      `serving I3X 1.0 at ${tls ? 'https' : 'http'}://.../v1`,
    );
  },
);
