#!/usr/bin/env node
/**
 * `npm run build`: compiles src/ with tsc (tsconfig.build.json) and bundles the browser UIs
 * (scripts/build-web.js).
 *
 * `--if-stale` (what `npm start` and the command-line tools run first) skips tsc when nothing it
 * reads changed since the last successful build: a fingerprint of every file under src/ (path,
 * size, mtime; the generated Prisma client included), the tsconfigs, package.json and the installed
 * packages is kept in dist/.build-stamp.json. The web build has a fingerprint of its own. A second
 * command therefore starts in well under a second instead of re-running tsc (~10 s).
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const stampFile = path.join(root, 'dist', '.build-stamp.json');

function walk(dir, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function fingerprint() {
  const h = crypto.createHash('sha256');
  const files = [
    ...walk(path.join(root, 'src')),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json', 'node_modules/.package-lock.json', 'scripts/build.js'].map((f) =>
      path.join(root, f),
    ),
  ].sort();
  for (const f of files) {
    let st;
    try {
      st = fs.statSync(f);
    } catch {
      h.update(`${path.relative(root, f)}\0missing\n`);
      continue;
    }
    h.update(`${path.relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex');
}

function tscUpToDate(fp) {
  try {
    return JSON.parse(fs.readFileSync(stampFile, 'utf8')).fingerprint === fp && fs.existsSync(path.join(root, 'dist', 'src', 'main.js'));
  } catch {
    return false;
  }
}

async function main() {
  // Not strict: build-web.js (loaded below) reads its own --force from the same command line.
  const ifStale = parseArgs({ options: { 'if-stale': { type: 'boolean' } }, strict: false }).values['if-stale'] === true;
  // Taken before compiling: a file edited during the build makes the next run build again.
  const fp = fingerprint();
  if (!(ifStale && tscUpToDate(fp))) {
    fs.rmSync(stampFile, { force: true });
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    // Everything the build says goes to stderr: stdout may be an export's CSV (`npm run --silent export > f.csv`).
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 2, 2] });
    if (r.status !== 0) process.exit(r.status ?? 1);
    fs.mkdirSync(path.dirname(stampFile), { recursive: true });
    fs.writeFileSync(stampFile, JSON.stringify({ fingerprint: fp, builtAt: new Date().toISOString() }) + '\n');
  }
  console.log = console.error;
  await require('./build-web.js').main();
}

main().catch((e) => {
  console.error(`build failed: ${e.message}`);
  process.exit(1);
});
