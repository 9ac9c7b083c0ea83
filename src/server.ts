/**
 * The gateway: a plain node:http server carrying Apollo Server 5 (POST/GET /graphql), graphql-ws
 * on the same port and path, /healthz and /readyz. Startup waits for the database with backoff
 * (/readyz says so meanwhile); shutdown drains in-flight requests, closes sockets, then the pool.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { ApolloServer, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { InMemoryLRUCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { DocumentNode } from 'graphql';
import { WebSocketServer } from 'ws';
import type { App } from './app';
import type { Config } from './config';
import { openDatabase, statementScope, type Database } from './db/client';
import { MigrationError, migrate, pendingMigrations } from './db/migrate';
import { buildContext, type Context } from './graphql/context';
import { loadCursorKey } from './graphql/cursor-seal';
import { serveStatic } from './http/static';
import { SharedSubscriptions } from './graphql/shared-subscriptions';
import { isTransientDbError, unauthenticated } from './graphql/errors';
import { EventHub } from './events/hub';
import { WebhookWorker } from './modules/webhooks/webhook.worker';
import { getSchema } from './graphql/schema';
import { loadTrustedDocuments, preflight } from './graphql/documents';
import { keyPrefixOf, OperationGuard, type Observed } from './graphql/security';
import { poolTx } from './db/tx';
import { DATABASE_GAUGES_SQL, setGaugeSources } from './observability/metrics';
import { instrumentRootFields } from './observability/schema';
import { startMetricsServer } from './observability/server';
import { KeySockets } from './server/key-sockets';
import { serveGraphqlWs, WS_FORBIDDEN } from './server/ws';
import type { Logger } from './log';
import { KeyAuthenticator, REVOKED_CHANNEL } from './modules/auth/keys.service';
import { RevocationWatcher } from './modules/auth/revocation';
import type { AuthInfo } from './modules/auth/scopes';
import { loadDemoIfEmpty } from './modules/demo/demo';
import { Sweeper } from './modules/reservations/expiry';
import { startAdminSocket, type AdminSocket } from './admin/server';

export interface Gateway {
  url: string;
  port: number;
  app: App;
  httpServer: http.Server;
  /** Shared subscription execution (shapes, subscribers, executions). */
  subscriptions: SharedSubscriptions;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const HTTP_KEEP_ALIVE_MS = 65_000;

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : '';
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

class BodyTooLarge extends Error {}

/**
 * Reads the body. Past MAX_BODY_BYTES the rest is drained unread (up to 16 MiB, then the socket
 * is dropped) so that the client still receives its 413.
 */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16 * MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
      } else if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function parseJson(s: string | null): unknown {
  try {
    return s ? JSON.parse(s) : null;
  } catch {
    return null;
  }
}

/**
 * CORS for browser storefronts: an allowed Origin gets the headers (and its preflight a 204).
 * Returns true when the request came from an allowed origin.
 */
function corsHeaders(allowed: string[], req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const origin = req.headers.origin;
  if (!origin || allowed.length === 0 || !(allowed.includes('*') || allowed.includes(origin))) return false;
  res.setHeader('access-control-allow-origin', allowed.includes('*') ? '*' : origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', 'x-request-id, retry-after');
  if (req.method === 'OPTIONS') {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'authorization, content-type, x-request-id, apollo-require-preflight');
    res.setHeader('access-control-max-age', '600');
  }
  return true;
}

/** Bytes of persisted documents kept (automatic persisted queries, registered by authenticated callers only). */
const PERSISTED_CACHE_BYTES = 8 * 1024 * 1024;
/** Bytes of parsed and validated documents kept (Apollo's document store; a document's source text counts). */
const DOCUMENT_STORE_BYTES = 16 * 1024 * 1024;

/** Automatic persisted queries, with the trusted documents served first (clients may send only their hash). */
function persistedQueryCache(trusted: Map<string, string>): KeyValueCache<string> {
  const lru = new InMemoryLRUCache<string>({ maxSize: PERSISTED_CACHE_BYTES, sizeCalculation: (v) => v.length * 2 + 64 });
  const strip = (k: string) => k.replace(/^apq:/, '');
  return {
    async get(key: string) {
      return trusted.get(strip(key)) ?? lru.get(key);
    },
    async set(key: string, value: string) {
      if (!trusted.has(strip(key))) await lru.set(key, value);
    },
    async delete(key: string) {
      await lru.delete(key);
    },
  };
}

async function connectWithRetry(config: Config, log: Logger, isStopping: () => boolean, url: string): Promise<Database> {
  let delay = 250;
  const deadline = config.startupTimeoutMs > 0 ? Date.now() + config.startupTimeoutMs : Infinity;
  for (let attempt = 1; ; attempt++) {
    let db: Database | null = null;
    try {
      db = await openDatabase(config, log);
      await migrate(db.connection, log);
      await loadCursorKey(db, config);
      return db;
    } catch (e) {
      await db?.close();
      if (e instanceof MigrationError || !isTransientDbError(e) || isStopping()) throw e;
      if (Date.now() + delay > deadline) {
        throw new Error(`database unreachable for ${config.startupTimeoutMs} ms (DATABASE_STARTUP_TIMEOUT_MS): ${(e as Error).message}`);
      }
      log.warn('database not ready; retrying', { attempt, err: (e as Error).message, retryInMs: delay, url });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  let app: App | null = null;
  let stopping = false;
  let fatal: Error | null = null;
  const sweeper: { s: Sweeper | null } = { s: null };
  const webhooks: { w: WebhookWorker | null } = { w: null };

  const schema = await getSchema();
  instrumentRootFields(schema);
  const metricsServer = config.metricsPort === null ? null : await startMetricsServer(config.metricsPort, config.metricsHost, log);
  const httpServer = http.createServer();
  // Idle keep-alive sockets stay open longer than clients keep them (undici: 4 s, load balancers:
  // 60 s), so a client never sends on a socket the server is closing (ECONNRESET under load).
  httpServer.keepAliveTimeout = HTTP_KEEP_ALIVE_MS;
  httpServer.headersTimeout = HTTP_KEEP_ALIVE_MS + 1000;
  // No permessage-deflate: shared subscription frames are written pre-built (src/graphql/shared-subscriptions.ts).
  // noServer: the HTTP server's own errors (a port in use) are startup failures, not graphql-ws's.
  const wsServer = new WebSocketServer({ noServer: true, path: '/graphql', maxPayload: MAX_BODY_BYTES, perMessageDeflate: false });
  httpServer.on('upgrade', (req, socket, head) => wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req)));

  const trusted = loadTrustedDocuments(config);
  // The one enforcement point: Apollo (HTTP) and graphql-ws both run every operation through it.
  const guard = new OperationGuard(config, trusted, log);
  const persisted = persistedQueryCache(trusted);
  const apollo = new ApolloServer<Context>({
    schema,
    // Keys are bearer headers, never cookies, and a browser preflights any request carrying Authorization.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    // Shutdown is ours (main.ts): Apollo's own signal handler would re-raise the signal mid-drain.
    stopOnTerminationSignals: false,
    // The guard's validation rules refuse introspection when it is off, on every transport.
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError: guard.formatError,
    validationRules: guard.validationRules,
    persistedQueries: { cache: persisted },
    documentStore: new InMemoryLRUCache<DocumentNode>({ maxSize: DOCUMENT_STORE_BYTES, sizeCalculation: (d) => (d.loc?.source.body.length ?? 0) * 2 + 4096 }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No type or field has a cache hint, so responses never carried a cache-control header; the
      // default cache-control plugin still ran a willResolveField hook (and allocated) per field.
      ApolloServerPluginCacheControlDisabled(),
      guard.apolloPlugin(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });

  async function authFrom(header: string | undefined): Promise<AuthInfo | null> {
    const token = bearer(header);
    if (token === undefined) return null;
    const auth = await app!.authenticator.authenticate(token);
    if (!auth) throw unauthenticated('The API key is invalid or revoked');
    return auth;
  }

  // Subscription events run once per shape and are sent to every subscriber of it.
  const subscriptions = new SharedSubscriptions((auth) => buildContext(app!, auth, `subscription-${crypto.randomUUID()}`), config.subscriptionFlushMs, guard.formatError);
  const sockets = new KeySockets();
  const wsCleanup = serveGraphqlWs(wsServer, {
    schema,
    config,
    guard,
    trusted,
    persisted,
    app: () => (stopping ? null : app),
    authenticate: (token) => app!.authenticator.authenticate(token),
    subscriptions,
    sockets,
  });
  const revocations: { w: RevocationWatcher | null } = { w: null };
  const admin: { s: AdminSocket | null } = { s: null };

  await apollo.start();

  httpServer.on('request', async (req, res) => {
    const requestId = (typeof req.headers['x-request-id'] === 'string' && /^[\w-]{1,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : crypto.randomUUID());
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    // One info line per request (probes excepted): what ran, for which key prefix, how it ended.
    const observed: Observed[] = [];
    let auth: AuthInfo | null = null;
    res.on('finish', () => {
      if (url.pathname === '/healthz' || url.pathname === '/readyz' || !log.enabled('info')) return;
      const cost = observed.reduce((n, o) => n + (o.cost ?? 0), 0);
      log.info('request', {
        requestId,
        method: req.method,
        path: url.pathname,
        ...(observed.length ? { operation: observed.map((o) => o.operation).join(','), type: observed.map((o) => o.type).join(',') } : {}),
        keyPrefix: keyPrefixOf(auth),
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(observed.length ? { cost } : {}),
      });
    });
    if (corsHeaders(config.corsOrigins, req, res) && req.method === 'OPTIONS') {
      res.statusCode = 204;
      return res.end();
    }
    try {
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') return await readyz(res);
      if (await serveStatic(req, res, url, config)) return;
      if (url.pathname !== '/graphql') return sendJson(res, 404, { errors: [{ message: 'Not found. GraphQL is served at /graphql', extensions: { code: 'NOT_FOUND' } }] });
      if (!app) {
        return sendJson(res, 503, { errors: [{ message: 'The service is starting; retry shortly', extensions: { code: 'UNAVAILABLE', retryable: true, retryAfterMs: 1000 } }] }, { 'retry-after': '1' });
      }
      let body: string;
      try {
        body = req.method === 'POST' ? await readBody(req) : '';
      } catch (e) {
        if (e instanceof BodyTooLarge) {
          return sendJson(res, 413, { errors: [{ message: `Request body exceeds ${MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_REQUEST' } }] }, { connection: 'close' });
        }
        throw e;
      }
      const headers = new HeaderMap();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const ctype = headers.get('content-type') ?? '';
      let parsed: unknown = body;
      if (req.method === 'POST' && /application\/(graphql-response\+)?json/i.test(ctype)) {
        try {
          parsed = body ? JSON.parse(body) : undefined;
        } catch {
          return sendJson(res, 400, { errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        }
      }
      const ops: { query?: unknown; variables?: unknown }[] =
        req.method === 'POST'
          ? (Array.isArray(parsed) ? parsed : [parsed]).map((b) => (b && typeof b === 'object' ? (b as { query?: unknown; variables?: unknown }) : {}))
          : [{ query: url.searchParams.get('query'), variables: parseJson(url.searchParams.get('variables')) }];
      for (const op of ops) {
        const refused = preflight(op.query, op.variables, config);
        if (refused) {
          guard.refusedEarly('http', refused.extensions.code as string, started);
          return sendJson(res, 400, { errors: [{ message: refused.message, extensions: { code: refused.extensions.code } }] });
        }
      }
      const httpGraphQLRequest: HTTPGraphQLRequest = { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body: parsed };
      const scope = { statements: 0 };
      const response = await statementScope.run(scope, () =>
        apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest,
          // The key lookup is not the operation's: x-sql-statements counts the operation's statements only.
          context: async () => {
            try {
              auth = await statementScope.exit(() => authFrom(req.headers.authorization));
            } catch (e) {
              // An unknown or revoked key: Apollo answers 401 before any plugin hook runs.
              observed.push(guard.observe('http', null, started, 'refused', null));
              throw e;
            }
            return Object.assign(buildContext(app!, auth, requestId), { observed });
          },
        }),
      );
      for (const [k, v] of response.headers) res.setHeader(k, v);
      if (config.nodeEnv !== 'production') res.setHeader('x-sql-statements', String(scope.statements));
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        res.end(response.body.string);
      } else {
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      }
    } catch (e) {
      log.error('request failed', { requestId, err: e as Error });
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.end();
    }
  });

  async function readyz(res: http.ServerResponse) {
    if (fatal) return sendJson(res, 503, { status: 'failed' });
    if (!app) return sendJson(res, 503, { status: 'starting', database: 'unreachable or migrating' });
    const pool = app.db.pool;
    try {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('SELECT 1');
        const pending = await pendingMigrations(client);
        if (pending.length) return sendJson(res, 503, { status: 'not ready', pendingMigrations: pending });
      } catch (e) {
        broken = true; // a connection that failed here is destroyed, not returned to the pool
        throw e;
      } finally {
        client.release(broken || undefined);
      }
      return sendJson(res, 200, { status: 'ready', database: app.db.kind });
    } catch (e) {
      // The cause goes to the log, not to whoever asks.
      log.warn('readiness check failed', { err: (e as Error).message.slice(0, 200), pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } });
      return sendJson(res, 503, { status: 'not ready', database: 'unreachable' });
    }
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/graphql`;

  try {
    const db = await connectWithRetry(config, log, () => stopping, `http://localhost:${port}/graphql`);
    const authenticator = new KeyAuthenticator(db.prisma);
    const a: App = { config, db, log, tx: { pool: db.pool, maxRetries: config.txMaxRetries }, authenticator };
    await loadDemoIfEmpty(a);
    const hub = new EventHub(a);
    const watcher = new RevocationWatcher(db.prisma, (ids) => {
      authenticator.invalidate(ids);
      for (const id of ids) sockets.close(id, WS_FORBIDDEN, 'The API key was revoked');
    }, (msg, err) => log.warn(msg, { err: err.message }));
    hub.alsoListen = [REVOKED_CHANNEL];
    hub.onNotify = () => watcher.poke();
    await hub.start();
    await watcher.start();
    revocations.w = watcher;
    a.events = hub;
    webhooks.w = new WebhookWorker(a);
    webhooks.w.start();
    hub.onPumped = () => webhooks.w?.poke();
    a.tx.afterCommit = () => hub.poke();
    app = a;
    sweeper.s = new Sweeper(a);
    sweeper.s.start();
    setGaugeSources({
      pools: db.batchPool === db.pool ? { main: db.pool } : { main: db.pool, reserve_batch: db.batchPool },
      poolMax: db.batchPool === db.pool ? { main: config.poolSize } : { main: config.poolSize, reserve_batch: config.reserveBatchInFlight },
      subscribers: () => hub.fanout.subscriberCount,
      sockets: () => wsServer.clients.size,
      database: async () => {
        const [r] = await poolTx(db.pool).query<{ active: number; backlog: number; oldest: number; pending: number }>(DATABASE_GAUGES_SQL);
        return r;
      },
    });
    // The command-line tools reach an embedded database through its owner (src/admin/).
    if (db.kind === 'pglite' && config.dataDir !== 'memory://') {
      admin.s = await startAdminSocket(a).catch((e: Error) => {
        log.warn('admin socket unavailable: the command-line tools need the gateway stopped', { err: e.message });
        return null;
      });
    }
    // Said only now: the port is open, the database is ready and migrated.
    log.info('listening', { url: `http://localhost:${port}/graphql`, database: config.databaseUrl ? 'postgresql' : 'embedded PGlite' });
    log.info('ready', { database: db.kind });
  } catch (e) {
    fatal = e as Error;
    await new Promise<void>((r) => httpServer.close(() => r()));
    await metricsServer?.close();
    throw e;
  }

  let stopped: Promise<void> | null = null;
  return {
    url,
    port,
    app: app!,
    httpServer,
    subscriptions,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        log.info('shutting down');
        await apollo.stop(); // drains HTTP (in-flight requests finish) and closes the WebSocket server
        await admin.s?.close();
        await sweeper.s?.stop();
        await revocations.w?.stop();
        await app?.events?.stop();
        await webhooks.w?.stop();
        await guard.close(); // unused rate-limit leases go back to the shared buckets
        setGaugeSources(null);
        await app?.db.close();
        await metricsServer?.close();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}

