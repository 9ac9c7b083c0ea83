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
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { App } from './app';
import type { Config } from './config';
import { openDatabase, statementScope, type Database } from './db/client';
import { MigrationError, migrate, pendingMigrations } from './db/migrate';
import { buildContext, type Context } from './graphql/context';
import { loadCursorKey } from './graphql/cursor-seal';
import { serveStatic } from './http/static';
import { SharedSubscriptions } from './graphql/shared-subscriptions';
import { isTransientDbError, makeFormatError, unauthenticated } from './graphql/errors';
import { EventHub } from './events/hub';
import { WebhookWorker } from './modules/webhooks/webhook.worker';
import { getSchema } from './graphql/schema';
import { armor, loadTrustedDocuments, securityPlugin, tooManyTokens } from './graphql/security';
import type { Logger } from './log';
import { KeyAuthenticator } from './modules/auth/keys.service';
import type { AuthInfo } from './modules/auth/scopes';
import { loadDemoIfEmpty } from './modules/demo/demo';
import { Sweeper } from './modules/reservations/expiry';

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

/** PostgreSQL text cannot hold NUL: refuse it anywhere in the variables, before any resolver runs. */
function hasNul(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasNul(x, depth + 1));
  return Object.entries(v as Record<string, unknown>).some(([k, x]) => k.includes('\u0000') || hasNul(x, depth + 1));
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

/** Automatic persisted queries, pre-filled with the trusted documents (so clients may send only their hash). */
function persistedQueryCache(trusted: Map<string, string>) {
  const lru = new Map<string, string>();
  const strip = (k: string) => k.replace(/^apq:/, '');
  return {
    async get(key: string) {
      return trusted.get(strip(key)) ?? lru.get(key);
    },
    async set(key: string, value: string) {
      if (trusted.has(strip(key))) return;
      lru.delete(key);
      lru.set(key, value);
      if (lru.size > 1000) lru.delete(lru.keys().next().value as string);
    },
    async delete(key: string) {
      lru.delete(key);
    },
  };
}

async function connectWithRetry(config: Config, log: Logger, isStopping: () => boolean): Promise<Database> {
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
      log.warn('database not ready; retrying', { attempt, err: (e as Error).message, retryInMs: delay });
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
  const httpServer = http.createServer();
  // No permessage-deflate: shared subscription frames are written pre-built (src/graphql/shared-subscriptions.ts).
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: MAX_BODY_BYTES, perMessageDeflate: false });

  const trusted = loadTrustedDocuments(config);
  const guard = armor(config);
  const apollo = new ApolloServer<Context>({
    schema,
    // Keys are bearer headers, never cookies, and a browser preflights any request carrying Authorization.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    // Shutdown is ours (main.ts): Apollo's own signal handler would re-raise the signal mid-drain.
    stopOnTerminationSignals: false,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    formatError: makeFormatError(log),
    validationRules: guard.validationRules,
    persistedQueries: { cache: persistedQueryCache(trusted) },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No type or field has a cache hint, so responses never carried a cache-control header; the
      // default cache-control plugin still ran a willResolveField hook (and allocated) per field.
      ApolloServerPluginCacheControlDisabled(),
      ...guard.plugins,
      securityPlugin(config, trusted),
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
  const subscriptions = new SharedSubscriptions((auth) => buildContext(app!, auth, `subscription-${crypto.randomUUID()}`), config.subscriptionFlushMs);
  const wsCleanup = useServer<Record<string, unknown> | undefined, { auth?: AuthInfo | null }>(
    {
      schema,
      onConnect: async (ctx) => {
        if (!app) return false;
        const p = ctx.connectionParams ?? {};
        const header = (p.Authorization ?? p.authorization ?? (p.apiKey ? `Bearer ${p.apiKey}` : undefined)) as string | undefined;
        try {
          ctx.extra.auth = await authFrom(header);
        } catch {
          return false;
        }
        return true;
      },
      context: (ctx, id) =>
        Object.assign(buildContext(app!, ctx.extra.auth ?? null, crypto.randomUUID()), {
          closeSocket: (code: number, reason: string) => ctx.extra.socket.close(code, reason),
          subscriber: { socket: ctx.extra.socket, id },
        }),
      subscribe: subscriptions.subscribe,
    },
    wsServer,
  );

  await apollo.start();

  httpServer.on('request', async (req, res) => {
    const requestId = (typeof req.headers['x-request-id'] === 'string' && /^[\w-]{1,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : crypto.randomUUID());
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.on('finish', () => {
      if (url.pathname === '/healthz' || url.pathname === '/readyz') return;
      log.debug('request', { requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 });
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
      const bodies = req.method === 'POST' ? (Array.isArray(parsed) ? parsed : [parsed]) : [];
      if (bodies.some((b) => hasNul((b as { variables?: unknown } | undefined)?.variables)) || hasNul(parseJson(url.searchParams.get('variables')))) {
        return sendJson(res, 400, { errors: [{ message: 'Strings must not contain NUL (\\u0000) characters', extensions: { code: 'BAD_USER_INPUT' } }] });
      }
      const queries = req.method === 'POST' ? (Array.isArray(parsed) ? parsed : [parsed]).map((b) => (b as { query?: unknown } | undefined)?.query) : [url.searchParams.get('query')];
      if (queries.some((q) => tooManyTokens(q, config.maxTokens))) {
        return sendJson(res, 400, { errors: [{ message: `The document has more than ${config.maxTokens} tokens`, extensions: { code: 'BAD_USER_INPUT' } }] });
      }
      const httpGraphQLRequest: HTTPGraphQLRequest = { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body: parsed };
      const scope = { statements: 0 };
      const response = await statementScope.run(scope, () =>
        apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest,
          context: async () => buildContext(app!, await authFrom(req.headers.authorization), requestId),
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
    if (fatal) return sendJson(res, 503, { status: 'failed', reason: fatal.message });
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
      return sendJson(res, 503, {
        status: 'not ready',
        database: 'unreachable',
        error: (e as Error).message.slice(0, 200),
        pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
      });
    }
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/graphql`;
  log.info('listening', { url: `http://localhost:${port}/graphql`, database: config.databaseUrl ? 'postgresql' : 'embedded PGlite' });

  try {
    const db = await connectWithRetry(config, log, () => stopping);
    const authenticator = new KeyAuthenticator(db.prisma);
    const a: App = { config, db, log, tx: { pool: db.pool, maxRetries: config.txMaxRetries }, authenticator };
    await loadDemoIfEmpty(a);
    const hub = new EventHub(a);
    await hub.start();
    a.events = hub;
    webhooks.w = new WebhookWorker(a);
    webhooks.w.start();
    hub.onPumped = () => webhooks.w?.poke();
    a.tx.afterCommit = () => hub.poke();
    app = a;
    sweeper.s = new Sweeper(a);
    sweeper.s.start();
    log.info('ready', { database: db.kind });
  } catch (e) {
    fatal = e as Error;
    await new Promise<void>((r) => httpServer.close(() => r()));
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
        await sweeper.s?.stop();
        await app?.events?.stop();
        await webhooks.w?.stop();
        await app?.db.close();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}

