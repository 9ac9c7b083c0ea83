/**
 * The embedded (PGlite) counterpart of the PostgreSQL template database of ./db.ts: a dump of a
 * PGlite database with every migration applied, made once per set of migrations and PGlite version
 * and kept in the temporary directory (each jest test file has its own module registry, so a copy
 * kept in memory would be made again for every file: initdb twice and every migration, several
 * seconds of WebAssembly per file). Written to a temporary name and renamed: workers racing to make
 * it each write a complete file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/db/migrate';
import { migrationsHash } from './db';

const pgliteVersion = (): string => {
  const file = path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
};

export function migratedDumpPath(): string {
  return path.join(os.tmpdir(), `inventory-test-pglite-${migrationsHash(`pglite ${pgliteVersion()};`)}.tar`);
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

let loaded: Promise<Blob> | undefined;

/** The dump (made if missing), read once per test file (~40 MB). */
export function migratedPgliteDump(): Promise<Blob> {
  loaded ??= (async () => {
    const file = migratedDumpPath();
    if (!fs.existsSync(file)) await makeDump(file);
    return new Blob([fs.readFileSync(file)]);
  })();
  return loaded;
}
