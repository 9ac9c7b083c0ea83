/**
 * Startup and shutdown of what runs beside the servers: the database (waited for with backoff,
 * then migrated), the event hub, key revocations, webhooks, the reservation sweeper, the metrics
 * gauges and the admin socket of an embedded database.
 */
import type { GatewayApp } from './gateway-app';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db/client';
import { MigrationError, migrate } from '../db/migrate';
import { poolTx } from '../db/tx';
import { EventHub } from '../events/hub';
import { loadCursorKey } from '../graphql/cursor-seal';
import { isTransientDbError } from '../graphql/errors';
import type { Logger } from '../log';
import { KeyAuthenticator, REVOKED_CHANNEL } from '../modules/auth/keys.service';
import { RevocationWatcher } from '../modules/auth/revocation';
import { loadDemoIfEmpty } from '../modules/demo/demo';
import { Sweeper } from '../modules/reservations/expiry';
import { LedgerRollup } from '../modules/inventory';
import { WebhookWorker } from '../modules/webhooks/webhook.worker';
import { DATABASE_GAUGES_SQL, setGaugeSources } from '../observability/metrics';
import { startAdminSocket, type AdminSocket } from '../admin/server';
import type { KeySockets } from './key-sockets';
import { WS_FORBIDDEN } from './ws';

/** Opens, migrates and checks the database, retrying transient failures with backoff. */
export async function connectWithRetry(config: Config, log: Logger, isStopping: () => boolean, url: string): Promise<Database> {
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
        throw new Error(`database unreachable for ${config.startupTimeoutMs} ms (DATABASE_STARTUP_TIMEOUT_MS): ${(e as Error).message}`, {
          cause: e,
        });
      }
      log.warn('database not ready; retrying', { attempt, err: (e as Error).message, retryInMs: delay, url });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** The running background services; `stop` ends them, then `closeDatabase`. */
export interface Services {
  app: GatewayApp;
  stop(): Promise<void>;
  closeDatabase(): Promise<void>;
}

interface Running {
  admin?: AdminSocket | null;
  sweeper?: Sweeper;
  rollup?: LedgerRollup;
  revocations?: RevocationWatcher;
  hub?: EventHub;
  webhooks?: WebhookWorker;
}

/** The event hub, and what it wakes: revocations (closing the key's sockets), webhooks, commits. */
async function startEvents(app: GatewayApp, sockets: KeySockets, running: Running): Promise<void> {
  const hub = new EventHub(app);
  const watcher = new RevocationWatcher(
    app.db.prisma,
    (ids) => {
      app.authenticator.invalidate(ids);
      for (const id of ids) sockets.close(id, WS_FORBIDDEN, 'The API key was revoked');
    },
    (msg, err) => app.log.warn(msg, { err: err.message }),
  );
  hub.alsoListen = [REVOKED_CHANNEL];
  hub.onNotify = () => watcher.poke();
  running.hub = hub;
  await hub.start();
  running.revocations = watcher;
  await watcher.start();
  app.events = hub;
  const webhooks = new WebhookWorker(app);
  running.webhooks = webhooks;
  webhooks.start();
  hub.onPumped = () => webhooks.poke();
  app.tx.afterCommit = () => hub.poke();
}

function setGauges(app: GatewayApp, hub: EventHub, ws: { count: () => number; subscriptionMemory: () => number }): void {
  const { db, config } = app;
  const separate = db.batchPool !== db.pool;
  setGaugeSources({
    pools: separate ? { main: db.pool, reserve_batch: db.batchPool } : { main: db.pool },
    poolMax: separate
      ? { main: config.poolSize, reserve_batch: config.reserveBatchInFlight + config.adjustBatchInFlight }
      : { main: config.poolSize },
    subscribers: () => hub.fanout.subscriberCount,
    sockets: ws.count,
    subscriptionMemory: ws.subscriptionMemory,
    database: async () => {
      const [r] = await poolTx(db.pool).query<{ active: number; backlog: number; oldest: number; pending: number }>(DATABASE_GAUGES_SQL);
      return r;
    },
  });
}

/** The command-line tools reach an embedded database through its owner (src/admin/). */
async function startAdmin(app: GatewayApp): Promise<AdminSocket | null> {
  if (app.db.kind !== 'pglite' || app.config.dataDir === 'memory://') return null;
  return startAdminSocket(app).catch((e: Error) => {
    app.log.warn('admin socket unavailable: the command-line tools need the gateway stopped', { err: e.message });
    return null;
  });
}

/**
 * Starts the services on an open database. `onReady` makes the app visible to requests (after the
 * events and before the sweeper, as requests may then commit). Returns the services, with `stop`.
 */
export async function startServices(
  config: Config,
  log: Logger,
  db: Database,
  ws: { sockets: KeySockets; count: () => number; subscriptionMemory: () => number },
  onReady: (app: GatewayApp) => void,
): Promise<Services> {
  const authenticator = new KeyAuthenticator(db.prisma);
  const app: GatewayApp = { config, db, log, tx: { pool: db.pool, maxRetries: config.txMaxRetries }, authenticator };
  const running: Running = {};
  await loadDemoIfEmpty(app);
  await startEvents(app, ws.sockets, running);
  onReady(app);
  running.sweeper = new Sweeper(app);
  running.sweeper.start();
  running.rollup = new LedgerRollup(app);
  running.rollup.start();
  setGauges(app, running.hub!, ws);
  running.admin = await startAdmin(app);
  return {
    app,
    async stop() {
      await running.admin?.close();
      await running.sweeper?.stop();
      await running.rollup?.stop();
      await running.revocations?.stop();
      await running.hub?.stop();
      await running.webhooks?.stop();
      setGaugeSources(null);
    },
    closeDatabase: () => db.close(),
  };
}
