/**
 * The embedded (PGlite) counterpart of the PostgreSQL template database of ./db.ts: a dump of a
 * PGlite database with every migration applied, made once per set of migrations and PGlite version
 * and kept in the temporary directory (each jest test file has its own module registry, so a copy
 * kept in memory would be made again for every file: initdb twice and every migration, several
 * seconds of WebAssembly per file). Written to a temporary name and renamed: workers racing to make
 * it each write a complete file.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/db/migrate';
import { migrationsHash, usingPostgres } from './db';

const pgliteVersion = (): string => {
  const file = path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
};

export function migratedDumpPath(): string {
  return path.join(os.tmpdir(), `inventory-test-pglite-${migrationsHash(`pglite ${pgliteVersion()}; no templates;`)}.tar`);
}

async function makeDump(file: string): Promise<void> {
  const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  const { PGLiteSocketServer } = require('@electric-sql/pglite-socket') as typeof import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pglite-template-'));
  const server = new PGLiteSocketServer({ db, path: path.join(sockDir, '.s.PGSQL.5432') });
  await server.start();
  try {
    await migrate({ host: sockDir, port: 5432, user: 'postgres', database: 'postgres' });
    await server.stop();
    // Without the template databases, which nothing here creates a database from: the dump is 27 MB
    // instead of 42, and PGlite loads it in ~0.5 s of CPU instead of ~0.9 (every test file, every
    // throwaway database and every data directory made from it).
    for (const template of ['template1', 'template0']) {
      await db.exec(`ALTER DATABASE ${template} IS_TEMPLATE false`);
      await db.exec(`DROP DATABASE ${template}`);
    }
    await db.exec('CHECKPOINT');
    const dump = await db.dumpDataDir('none');
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    fs.renameSync(tmp, file);
  } finally {
    await server.stop().catch(() => undefined);
    await db.close();
    fs.rmSync(sockDir, { recursive: true, force: true });
  }
}

/** The dump's file, made if missing. */
async function dumpFile(): Promise<string> {
  const file = migratedDumpPath();
  if (!fs.existsSync(file)) await makeDump(file);
  return file;
}

let loaded: Promise<Blob> | undefined;

/** The dump (made if missing), read once per test file (~27 MB). */
export function migratedPgliteDump(): Promise<Blob> {
  loaded ??= dumpFile().then((file) => new Blob([fs.readFileSync(file)]));
  return loaded;
}

/**
 * `dir` (created if missing) as the DATA_DIR of a process (a spawned gateway, a command) whose
 * database is a migrated test database (createTestDatabase({ migrated: true })). Embedded (no
 * DATABASE_URL) it then holds a copy of the dump, so that the process opens a database with every
 * migration applied, as on PostgreSQL, instead of running PGlite's initdb (~5 s of CPU in
 * WebAssembly) and the migrations first. On PostgreSQL it stays empty (the process keeps its
 * development key there). For the tests of a first start on a new DATA_DIR, an empty directory.
 */
export async function withMigratedDatabase(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  // stderr kept: a failed extraction throws with tar's own message.
  if (!usingPostgres) execFileSync('tar', ['-xf', await dumpFile(), '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}
