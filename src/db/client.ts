/**
 * Database selection: DATABASE_URL set → PostgreSQL; unset → embedded PGlite under DATA_DIR,
 * served in-process over pglite-socket so that the same pg driver and Prisma adapter are used.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import type { Config } from '../config';
import type { Logger } from '../log';
import { instrumentedPool, setupQuery, type StatementCounter } from './instrumented-pool';
import { makeSocketDir, processExists, SOCKET_FILE } from './socket-dirs';

export { preparedStatement, statementScope } from './instrumented-pool';

// Return BIGINT (int8) columns as JS numbers when they fit; sequences and sums stay well below 2^53.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

export interface Database {
  kind: 'postgres' | 'pglite';
  pool: pg.Pool;
  prisma: PrismaClient;
  /**
   * Connections for the group-commit statement of reservations (src/db/batcher.ts): its named
   * prepared statement always runs its generic plan there, planned once per connection. Its plan
   * does not depend on the parameter values (arrays of one batch's requests), but PostgreSQL would
   * plan it again for every execution (a custom plan: ~2.4 ms for a batch of 20, about half of
   * executing it). Not the main pool: there the same setting would also give Prisma's and the
   * reads' parameterized statements generic plans. On embedded PGlite (one session) it is `pool`.
   */
  batchPool: pg.Pool;
  /** pg connection settings, for dedicated connections (LISTEN, migrations). */
  connection: pg.ClientConfig;
  /** SQL statements sent through the pool since start (for tests and metrics). */
  statements(): number;
  close(): Promise<void>;
}

interface Embedded {
  connection: pg.ClientConfig;
  stop(): Promise<void>;
}

export class DataDirLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(`DATA_DIR ${dir} is in use by another gateway process (pid ${pid}); an embedded database has one owner`);
    this.name = 'DataDirLockedError';
  }
}

/**
 * An embedded database has exactly one owner process: a second one would corrupt it. The lock is
 * a pid file created exclusively; a file left by a process that no longer exists is taken over.
 */
const lockedHere = new Set<string>();

function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'gateway.pid');
  if (lockedHere.has(dir)) throw new DataDirLockedError(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      lockedHere.add(dir);
      return () => {
        lockedHere.delete(dir);
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processExists(pid)) throw new DataDirLockedError(dir, pid);
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock DATA_DIR ${dir}`);
}

/**
 * A throwaway (memory://) database starts from a copy of a freshly initialised, still empty one,
 * kept once per process: PGlite's initdb (1-3 s of WebAssembly) then runs twice, not for every
 * throwaway database (the tests start dozens per process; loading the copy takes ~0.5 s). The copy
 * is the second throwaway database, dumped as soon as it is created (as PGlite's own clone() does),
 * before anything ran in it: migrations and everything else happen on each database as before.
 * It costs ~40 MB outside the JavaScript heap, so a process that opens one throwaway database (an
 * operator's DATA_DIR=memory://) never keeps it.
 */
let pristine: Blob | undefined;
let throwaways = 0;

/**
 * Tests: throwaway databases of this process start from `dump` (PGlite's dumpDataDir of a database
 * with every migration applied: test/helpers/pglite-template.ts) instead of the copy above, so each
 * test file neither runs initdb nor applies the migrations again. The gateway still checks them.
 */
export function startThrowawaysFrom(dump: Blob): void {
  pristine = dump;
}

/**
 * PGlite's server settings, with a buffer pool of 32 MB instead of its default 128 MB. PostgreSQL
 * zeroes the whole pool as it starts, which in WebAssembly took ~0.4 s of CPU per database opened
 * (a test process opens dozens), and the pool stays resident. The embedded database is the
 * demonstration and development one: its data fits, and a page not in the pool is read from the
 * data directory (memory://: from memory).
 */
function startParams(PGlite: typeof import('@electric-sql/pglite').PGlite): string[] {
  return [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];
}

async function throwawayDatabase(PGlite: typeof import('@electric-sql/pglite').PGlite) {
  if (pristine) return PGlite.create({ loadDataDir: pristine, startParams: startParams(PGlite) });
  const db = await PGlite.create({ startParams: startParams(PGlite) });
  if (++throwaways < 2) return db;
  try {
    pristine ??= await db.dumpDataDir('none');
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
  return db;
}

async function startEmbedded(dataDir: string, log: Logger): Promise<Embedded> {
  // Loaded lazily: PGlite is only needed when no DATABASE_URL is given.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGLiteSocketServer } = require('@electric-sql/pglite-socket') as typeof import('@electric-sql/pglite-socket');
  const dir = path.resolve(dataDir);
  const memory = dataDir === 'memory://';
  let unlock = () => undefined as void;
  if (!memory) {
    fs.mkdirSync(dir, { recursive: true });
    unlock = lockDataDir(dir);
  }
  let db: InstanceType<typeof PGlite>;
  try {
    db = memory ? await throwawayDatabase(PGlite) : await PGlite.create(dir, { startParams: startParams(PGlite) });
  } catch (e) {
    unlock();
    throw e;
  }
  const { dir: sockDir, swept } = await makeSocketDir();
  if (swept > 0) log.info('removed the socket directories of embedded gateways that stopped without a shutdown', { count: swept });
  const server = new PGLiteSocketServer({ db, path: path.join(sockDir, SOCKET_FILE), maxConnections: 4 });
  await server.start();
  log.info('embedded PGlite started', { dataDir: memory ? 'memory' : dir });
  return {
    connection: { host: sockDir, port: 5432, user: 'postgres', database: 'postgres' },
    async stop() {
      await server.stop();
      await db.close();
      fs.rmSync(sockDir, { recursive: true, force: true });
      unlock();
    },
  };
}

/** The least connect (and pool wait) timeout on the embedded database (see openDatabase). */
const EMBEDDED_CONNECT_TIMEOUT_MS = 60_000;

export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let embedded: Embedded | undefined;
  let connection: pg.ClientConfig;
  if (config.databaseUrl) {
    connection = { connectionString: config.databaseUrl };
  } else {
    embedded = await startEmbedded(config.dataDir, log);
    connection = embedded.connection;
  }
  connection = {
    ...connection,
    // Embedded, the "server" is PGlite on this process's own event loop: a connection's handshake
    // waits for whatever holds the loop (another PGlite loading its database, a busy test worker),
    // not for a network, so it gets a minute. pg also uses this timeout for waiting on a pooled
    // connection, and the embedded database has one connection that every request queues for: the
    // same minute bounds that wait. (The migrations' client timed out at 5 s while two test
    // gateways started side by side on a loaded machine.)
    connectionTimeoutMillis: embedded ? Math.max(config.connectTimeoutMs, EMBEDDED_CONNECT_TIMEOUT_MS) : config.connectTimeoutMs,
    application_name: 'inventory-gateway',
    ...(embedded
      ? {}
      : { statement_timeout: config.statementTimeoutMs, idle_in_transaction_session_timeout: config.statementTimeoutMs * 2 }),
  };
  // Count every statement sent through these pools (services, loaders, Prisma's adapter, reservation
  // batches; on PostgreSQL the event hub has a pool of its own, not counted here).
  const counter: StatementCounter = { statements: 0 };
  const pool = instrumentedPool(
    {
      ...connection,
      max: config.poolSize,
      idleTimeoutMillis: 30_000,
      // Embedded PGlite serves every connection from ONE session: the prepared statements of a
      // replaced connection are still there, and preparing them again under the same names would
      // fail ("already exists"). A new connection starts from none (pg-pool awaits this before
      // handing the connection out).
      ...(embedded ? { onConnect: (c: pg.ClientBase) => setupQuery(c, 'DEALLOCATE ALL') } : {}),
    },
    'main',
    counter,
    log,
  );
  let batchPool = pool;
  if (!embedded) {
    const options = {
      ...connection,
      options: '-c plan_cache_mode=force_generic_plan',
      // The reservation and the adjustment batches (each its own batcher) share these connections.
      max: config.reserveBatchInFlight + config.adjustBatchInFlight,
      idleTimeoutMillis: 30_000,
    };
    batchPool = instrumentedPool(options, 'reserve_batch', counter, log);
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) });
  return {
    kind: embedded ? 'pglite' : 'postgres',
    pool,
    batchPool,
    prisma,
    connection,
    statements: () => counter.statements,
    async close() {
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (batchPool !== pool) await batchPool.end().catch(() => undefined);
      if (embedded) await embedded.stop();
    },
  };
}
