/**
 * The Vendure peer as a child process of `npm run bench:vendure` (bench/peer/vendure.ts): `bootstrap()`
 * of `@vendure/core`, loaded from the scratch install named by VENDURE_DIR (never a dependency of
 * this package), on the database VENDURE_DB. No plugins: no AssetServerPlugin (sharp), no email
 * plugin, no search index plugin, no job-queue plugin (the in-memory job queue of the defaults).
 * Admin API at /admin-api, bearer tokens, logs at warn, telemetry off.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = process.env.VENDURE_DIR;
const database = process.env.VENDURE_DB;
if (!dir || !database) throw new Error('VENDURE_DIR and VENDURE_DB are required');
// Vendure 3 sends anonymous telemetry to telemetry.vendure.io unless this is set; and it writes
// .vendure/.installation-id under the working directory: keep that in the scratch directory.
process.env.VENDURE_DISABLE_TELEMETRY = 'true';
process.chdir(dir);
const db = new URL(process.env.VENDURE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');

// Vendure is not a dependency of this package: it is loaded from the scratch install.
const vendure = createRequire(path.join(dir, 'package.json'))('@vendure/core') as {
  bootstrap(config: unknown): Promise<unknown>;
  DefaultLogger: new (o: { level: number }) => unknown;
  LogLevel: { Warn: number };
};

const config = {
  apiOptions: {
    hostname: process.env.HOST ?? '127.0.0.1',
    port: Number(process.env.PORT ?? 3000),
    adminApiPath: 'admin-api',
    shopApiPath: 'shop-api',
    adminApiPlayground: false,
    shopApiPlayground: false,
    adminApiDebug: false,
    shopApiDebug: false,
  },
  authOptions: {
    tokenMethod: 'bearer',
    requireVerification: false,
    superadminCredentials: { identifier: 'superadmin', password: process.env.VENDURE_SUPERADMIN_PASSWORD ?? 'superadmin' },
  },
  dbConnectionOptions: {
    type: 'postgres',
    host: db.hostname,
    port: Number(db.port || 5432),
    username: decodeURIComponent(db.username || 'postgres'),
    password: decodeURIComponent(db.password),
    database,
    synchronize: true,
    logging: false,
  },
  paymentOptions: { paymentMethodHandlers: [] },
  logger: new vendure.DefaultLogger({ level: vendure.LogLevel.Warn }),
  plugins: [],
};

vendure.bootstrap(config).then(
  () => process.stdout.write('vendure: ready\n'),
  (e: unknown) => {
    process.stderr.write(`vendure: bootstrap failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
