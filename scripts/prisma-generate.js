#!/usr/bin/env node
// Runs `prisma generate` offline. Prisma 6.19.3 with the `prisma-client` generator and the JS
// engine needs DATABASE_URL to be a valid postgres URL at generate time (a placeholder is fine);
// an unset or invalid URL makes the CLI try to download an engine, which fails offline.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const url = process.env.DATABASE_URL;
const env = { ...process.env };
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  env.DATABASE_URL = 'postgresql://placeholder:placeholder@127.0.0.1:5432/placeholder';
}
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const bin = path.join(__dirname, '..', 'node_modules', '.bin', 'prisma');
const r = spawnSync(bin, ['generate'], { env, stdio: 'inherit', cwd: path.join(__dirname, '..') });
process.exit(r.status === null ? 1 : r.status);
