#!/usr/bin/env node
/*
 * npm run migrate:new -- <name>
 * Writes prisma/migrations/<UTC timestamp>_<name>/migration.sql with the SQL that turns the
 * committed prisma/schema.prisma (git HEAD; empty if there is none) into the working one, using
 * `prisma migrate diff --script`. Prisma's CLI connects through the adapter in prisma.config.ts, so
 * without DATABASE_URL a throwaway in-memory PGlite is served for the duration of the diff.
 * Hand-written SQL (CHECK constraints, functions, partial indexes) can be appended afterwards.
 */
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.join(__dirname, '..');
const name = parseArgs({ allowPositionals: true, strict: false }).positionals[0];
if (!name || !/^[a-z0-9][a-z0-9_]{0,60}$/.test(name)) {
  console.error('usage: npm run migrate:new -- <name>   (lower-case letters, digits and _)');
  process.exit(1);
}

function committedSchema() {
  try {
    return execFileSync('git', ['show', 'HEAD:prisma/schema.prisma'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

async function withDatabaseUrl(fn) {
  if (process.env.DATABASE_URL && /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL)) return fn(process.env.DATABASE_URL);
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const port = server.server?.address()?.port ?? server.port;
  try {
    return await fn(`postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`);
  } finally {
    await server.stop();
    await db.close();
  }
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'migrate-new-'));
  const old = committedSchema();
  const from = old === null ? ['--from-empty'] : ['--from-schema-datamodel', path.join(tmp, 'old.prisma')];
  if (old !== null) fs.writeFileSync(path.join(tmp, 'old.prisma'), old);
  const sql = await withDatabaseUrl(async (url) => {
    // Async on purpose: the embedded server answers Prisma from this process's event loop.
    const r = await new Promise((resolve, reject) => {
      const child = spawn(
        path.join(ROOT, 'node_modules', '.bin', 'prisma'),
        ['migrate', 'diff', ...from, '--to-schema-datamodel', path.join(ROOT, 'prisma', 'schema.prisma'), '--script'],
        { cwd: ROOT, env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('error', reject);
      child.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
    if (r.status !== 0) {
      process.stderr.write(r.stderr || r.stdout);
      process.exit(1);
    }
    return r.stdout;
  });
  fs.rmSync(tmp, { recursive: true, force: true });
  if (/^\s*-- This is an empty migration\.\s*$/.test(sql)) {
    console.log('No schema changes since the last commit; nothing written.');
    return;
  }
  const ts = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dir = path.join(ROOT, 'prisma', 'migrations', `${ts}_${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
  console.log(`Wrote ${path.relative(ROOT, path.join(dir, 'migration.sql'))}`);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
