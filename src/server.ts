/**
 * The gateway: a plain node:http server carrying Apollo Server 5 (POST/GET /graphql), graphql-ws
 * on the same port and path, /healthz and /readyz. Startup waits for the database with backoff
 * (/readyz says so meanwhile); shutdown drains in-flight requests, closes sockets, then the pool.
 *
 * The parts live in src/server/: the request handler (http-handler.ts, graphql-http.ts, body.ts,
 * cors.ts, readiness.ts), Apollo (apollo.ts, persisted.ts), graphql-ws (ws.ts) and the services
 * started beside them (lifecycle.ts).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { WebSocketServer } from 'ws';
import type { GatewayApp } from './server/gateway-app';
import type { Config } from './config';
import { buildContext } from './graphql/context';
import { loadTrustedDocuments } from './graphql/documents';
import { getSchema } from './server/schema';
import { OperationGuard } from './server/security';
import { SharedSubscriptions } from './graphql/shared-subscriptions';
import type { Logger } from './log';
import { instrumentRootFields } from './observability/schema';
import { startMetricsServer } from './observability/server';
import { createApollo } from './server/apollo';
import { MAX_BODY_BYTES } from './server/body';
import { createRequestHandler } from './server/http-handler';
import { KeySockets } from './server/key-sockets';
import { connectWithRetry, startServices, type Services } from './server/lifecycle';
import { persistedQueryCache } from './server/persisted';
import type { Readiness } from './server/readiness';
import { serveGraphqlWs } from './server/ws';

export interface Gateway {
  url: string;
  port: number;
  app: GatewayApp;
  httpServer: http.Server;
  /** Shared subscription execution (shapes, subscribers, executions). */
  subscriptions: SharedSubscriptions;
  stop(): Promise<void>;
}

const HTTP_KEEP_ALIVE_MS = 65_000;

function createHttpServer(): { httpServer: http.Server; wsServer: WebSocketServer } {
  const httpServer = http.createServer();
  // Idle keep-alive sockets stay open longer than clients keep them (undici: 4 s, load balancers:
  // 60 s), so a client never sends on a socket the server is closing (ECONNRESET under load).
  httpServer.keepAliveTimeout = HTTP_KEEP_ALIVE_MS;
  httpServer.headersTimeout = HTTP_KEEP_ALIVE_MS + 1000;
  // No permessage-deflate: shared subscription frames are built once for every socket (src/graphql/shared-subscriptions.ts).
  // noServer: the HTTP server's own errors (a port in use) are startup failures, not graphql-ws's.
  const wsServer = new WebSocketServer({ noServer: true, path: '/graphql', maxPayload: MAX_BODY_BYTES, perMessageDeflate: false });
  httpServer.on('upgrade', (req, socket, head) => wsServer.handleUpgrade(req, socket, head, (ws) => wsServer.emit('connection', ws, req)));
  return { httpServer, wsServer };
}

function listen(httpServer: http.Server, config: Config): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve((httpServer.address() as { port: number }).port));
  });
}

/** Shared subscription delivery with its flow-control settings (docs/EVENTS.md#flow-control). */
function sharedSubscriptions(config: Config, state: Readiness, guard: OperationGuard): SharedSubscriptions {
  return new SharedSubscriptions(
    (auth) => buildContext(state.app!, auth, `subscription-${crypto.randomUUID()}`),
    {
      flushMs: config.subscriptionFlushMs,
      queueLimit: config.subscriptionBuffer,
      highWater: config.subscriptionSocketHighWaterBytes,
      stallMs: config.subscriptionStallMs,
      memoryBytes: config.subscriptionMemoryMb * 1024 * 1024,
      renderConcurrency: config.subscriptionRenderConcurrency,
      renderSliceMs: config.subscriptionRenderSliceMs,
      perSocket: config.subscriptionsPerSocket,
      perKey: config.subscriptionsPerKey,
    },
    guard.formatError,
  );
}

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  const state: Readiness & { stopping: boolean } = { app: null, fatal: null, stopping: false };
  const schema = await getSchema();
  instrumentRootFields(schema);
  const metricsServer = config.metricsPort === null ? null : await startMetricsServer(config.metricsPort, config.metricsHost, log);
  const { httpServer, wsServer } = createHttpServer();

  const trusted = loadTrustedDocuments(config);
  // The one enforcement point: Apollo (HTTP) and graphql-ws both run every operation through it.
  const guard = new OperationGuard(config, trusted, log);
  const persisted = persistedQueryCache(trusted);
  // Subscription events run once per shape and are sent to every subscriber of it.
  const subscriptions = sharedSubscriptions(config, state, guard);
  const sockets = new KeySockets();
  const wsCleanup = serveGraphqlWs(wsServer, {
    schema,
    config,
    guard,
    trusted,
    persisted,
    app: () => (state.stopping ? null : state.app),
    authenticate: (token) => state.app!.authenticator.authenticate(token),
    subscriptions,
    sockets,
  });
  const apollo = createApollo({
    schema,
    guard,
    persisted,
    httpServer,
    drain: async () => {
      await wsCleanup.dispose();
    },
  });
  await apollo.start();
  httpServer.on('request', createRequestHandler({ apollo, config, guard, log, state }));

  const port = await listen(httpServer, config);
  let services: Services;
  try {
    const db = await connectWithRetry(config, log, () => state.stopping, `http://localhost:${port}/graphql`);
    services = await startServices(
      config,
      log,
      db,
      { sockets, count: () => wsServer.clients.size, subscriptionMemory: () => subscriptions.memory },
      (app) => (state.app = app),
    );
    // Said only now: the port is open, the database is ready and migrated.
    log.info('listening', { url: `http://localhost:${port}/graphql`, database: config.databaseUrl ? 'postgresql' : 'embedded PGlite' });
    log.info('ready', { database: db.kind });
  } catch (e) {
    state.fatal = e as Error;
    await new Promise<void>((r) => httpServer.close(() => r()));
    await metricsServer?.close();
    throw e;
  }

  let stopped: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    app: services.app,
    httpServer,
    subscriptions,
    stop() {
      stopped ??= (async () => {
        state.stopping = true;
        log.info('shutting down');
        await apollo.stop(); // drains HTTP (in-flight requests finish) and closes the WebSocket server
        await services.stop();
        await guard.close(); // unused rate-limit leases go back to the shared buckets
        await services.closeDatabase();
        await metricsServer?.close();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}
