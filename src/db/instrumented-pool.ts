/**
 * The gateway's pg pools, instrumented through node-postgres' documented extension points rather
 * than by patching instances:
 *  - pg-pool's `Client` option (README: "new Pool({ Client: NativeClient })"): the pool creates its
 *    connections from `StatementClient`, a pg.Client whose `query` counts statements and runs the
 *    registered hot statements as named prepared statements;
 *  - a pg.Pool subclass overriding `connect`, which pg-pool's own `query()` calls too: it measures
 *    the wait for a connection and binds the caller's async context to the callback.
 * Prisma's adapter (@prisma/adapter-pg) sends through the same pool (`pool.query` and
 * `pool.connect` then `client.query`), so its statements are counted as well.
 * test/e2e/db-pool.test.ts fails if any of this stops holding (a pg upgrade that no longer builds
 * connections from `Client`, or that stops routing `pool.query` through `connect`).
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import pg from 'pg';
import type { Logger } from '../log';
import { m as metrics } from '../observability/metrics';

/**
 * Counts the SQL statements sent on behalf of one HTTP request (background work such as the
 * sweeper or the event hub runs outside any scope). The server reports the count in the
 * `x-sql-statements` response header outside production.
 */
export const statementScope = new AsyncLocalStorage<{ statements: number }>();

const prepared = new Map<string, string>();
const preparedNames = new Set<string>();

/**
 * Registers a constant, parameterised SQL text of a hot path: wherever it is sent with parameters
 * through a pooled connection, it runs as a named prepared statement (parsed and planned once per
 * connection; PostgreSQL may then switch to a generic plan). Returns the text unchanged.
 */
export function preparedStatement(label: string, text: string): string {
  if (!prepared.has(text)) {
    // One name per text: a second text under the same label gets its own number.
    let name = label;
    for (let n = 2; preparedNames.has(name); n++) name = `${label}_${n}`;
    preparedNames.add(name);
    prepared.set(text, name);
  }
  return text;
}

/** The prepared-statement name of a registered text (tests). */
export function preparedName(text: string): string | undefined {
  return prepared.get(text);
}

/** Statements sent through one database's pools since it was opened. */
export interface StatementCounter {
  statements: number;
}

type Query = (...args: unknown[]) => unknown;

/** The pg.Client class of one database's pools: counts into `counter`, logs through `log`. */
function statementClient(counter: StatementCounter, log: Logger): typeof pg.Client {
  return class StatementClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      // A checked-out client whose connection is killed between two statements emits 'error'; with
      // no listener that crashes the process. The next statement on it fails (mapped to
      // UNAVAILABLE) and the transaction releases it as broken.
      this.on('error', (err) => log.warn('database connection lost while in use', { err: err.message }));
    }

    /** The connection's own setup (pg-pool's onConnect), outside every count. */
    setup(text: string): Promise<unknown> {
      return (super.query as Query).call(this, text) as Promise<unknown>;
    }

    // pg.Client's `query` has a dozen overloads (text or config, promise or callback, submittables)
    // that one method signature cannot restate, hence a property of the base method's own type.
    // Every call is passed through as it came; only a registered text with values gets its name.
    override query = ((...a: unknown[]) => {
      counter.statements++;
      const scope = statementScope.getStore();
      if (scope) scope.statements++;
      const base = super.query as Query;
      const name = typeof a[0] === 'string' && Array.isArray(a[1]) ? prepared.get(a[0]) : undefined;
      if (!name) return base.apply(this, a);
      const config = { name, text: a[0] as string, values: a[1] as unknown[] };
      return typeof a[2] === 'function' ? base.call(this, config, a[2]) : base.call(this, config);
    }) as pg.Client['query'];
  };
}

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: boolean | Error) => void) => void;

/** A pg.Pool that measures the wait for a connection and keeps the caller's async context. */
class InstrumentedPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly wait: { observe(seconds: number): void },
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const t0 = performance.now();
    const waited = () => this.wait.observe((performance.now() - t0) / 1000);
    if (typeof callback === 'function') {
      // pool.query() waits for a connection through a callback, which a busy pool calls from the
      // release of another statement: bound to the caller's async context, the statement is
      // counted for the request that sent it (statementScope), not for whoever released the connection.
      const bound = AsyncResource.bind(callback);
      return super.connect((err, client, done) => {
        waited();
        bound(err, client, done);
      });
    }
    return super.connect().then((client) => {
      waited();
      return client;
    });
  }
}

/**
 * A pool whose connections count their statements into `counter` and whose connection waits are
 * observed in inventory_db_pool_wait_seconds{pool=poolName}.
 */
export function instrumentedPool(config: pg.PoolConfig, poolName: string, counter: StatementCounter, log: Logger): pg.Pool {
  const Client = statementClient(counter, log);
  const pool = new InstrumentedPool({ ...config, Client }, metrics.poolWait.labels({ pool: poolName }));
  // A connection killed by the server (restart, pg_terminate_backend) must not crash the process.
  pool.on('error', (err) => log.warn('idle database connection lost', { err: err.message }));
  return pool;
}

/** For pg-pool's onConnect: a statement of the connection's setup, not counted (see StatementClient.setup). */
export function setupQuery(client: pg.ClientBase, text: string): Promise<unknown> {
  return (client as pg.ClientBase & { setup(text: string): Promise<unknown> }).setup(text);
}
