#!/usr/bin/env node
/**
 * Bundles the browser UIs with esbuild: web/ide (GraphiQL) → dist/public/ide/, web/board (live
 * stock board) → dist/public/board/. Minified, CSS included, content-hashed file names, gzip and
 * brotli copies for the server to pick. Nothing is loaded from a CDN: the build fails if a
 * stylesheet refers to an external URL or a known CDN host appears in a bundle.
 *
 * Skipped when nothing changed since the last build (a fingerprint of web/**, this script and the
 * installed packages); `--force` (or BUILD_WEB_FORCE=1) rebuilds anyway.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const zlib = require('node:zlib');

const root = path.resolve(__dirname, '..');
const webDir = path.join(root, 'web');
const outRoot = path.join(root, 'dist', 'public');
const stampFile = path.join(outRoot, '.build-stamp.json');
// Not strict: when scripts/build.js loads this file, the command line is build.js's (--if-stale).
const force =
  parseArgs({ options: { force: { type: 'boolean' } }, strict: false }).values.force === true || process.env.BUILD_WEB_FORCE === '1';

/** Hosts whose presence in a bundle means something would be fetched from outside. */
const CDN_HOSTS = [
  'unpkg.com',
  'cdn.jsdelivr.net',
  'cdnjs.cloudflare.com',
  'fonts.googleapis.com',
  'fonts.gstatic.com',
  'esm.sh',
  'cdn.skypack.dev',
  'cdn.apollographql.com',
  'embeddable-sandbox.cdn.apollographql.com',
  'apollo-server-landing-page.cdn.apollographql.com',
];

const APPS = [
  // prefix: where the HTML's relative URLs point; the IDE is served at /graphql, the board at /board.
  { name: 'ide', entry: 'web/ide/main.tsx', html: 'web/ide/index.html', prefix: 'ide/', sourcemap: false },
  { name: 'board', entry: 'web/board/main.ts', html: 'web/board/index.html', prefix: 'board/', sourcemap: 'linked' },
];
const SHARED_ASSETS = ['web/shared/favicon.svg'];

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function fingerprint() {
  const h = crypto.createHash('sha256');
  const files = [...walk(webDir), __filename, path.join(root, 'node_modules', '.package-lock.json')].sort();
  for (const f of files) {
    let st;
    try {
      st = fs.statSync(f);
    } catch {
      continue;
    }
    h.update(`${path.relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex');
}

function upToDate(fp) {
  if (force) return false;
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    return stamp.fingerprint === fp && APPS.every((a) => fs.existsSync(path.join(outRoot, a.name, 'index.html')));
  } catch {
    return false;
  }
}

function hashName(file, content) {
  const ext = path.extname(file);
  const hash = crypto.createHash('sha256').update(content).digest('hex').slice(0, 8).toUpperCase();
  return `${path.basename(file, ext)}-${hash}${ext}`;
}

/** Fails the build on anything that would load from outside. */
function checkOffline(app, dir) {
  const problems = [];
  for (const f of walk(dir)) {
    if (!/\.(js|css|html)$/.test(f)) continue;
    const text = fs.readFileSync(f, 'utf8');
    const rel = path.relative(root, f);
    if (f.endsWith('.css')) {
      const m = /url\(\s*['"]?(?:https?:)?\/\/|@import/i.exec(text);
      if (m) problems.push(`${rel}: external stylesheet reference "${text.slice(m.index, m.index + 80)}"`);
    }
    if (f.endsWith('.html')) {
      const m = /(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i.exec(text);
      if (m) problems.push(`${rel}: external URL "${text.slice(m.index, m.index + 80)}"`);
    }
    for (const host of CDN_HOSTS) if (text.includes(host)) problems.push(`${rel}: refers to the CDN host ${host}`);
  }
  if (problems.length) throw new Error(`web build (${app}) would load from outside:\n  ${problems.join('\n  ')}`);
}

function compress(dir) {
  for (const f of walk(dir)) {
    if (!/\.(js|css|svg|map|txt)$/.test(f)) continue; // pages are served by the server itself
    const buf = fs.readFileSync(f);
    if (buf.length < 1024) continue;
    fs.writeFileSync(`${f}.gz`, zlib.gzipSync(buf, { level: 9 }));
    fs.writeFileSync(
      `${f}.br`,
      zlib.brotliCompressSync(buf, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 10,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
          [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        },
      }),
    );
  }
}

async function buildApp(esbuild, app, tmp) {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: app.entry },
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    outdir: tmp,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    // Fonts and images referenced from CSS are bundled (inlined when small): never fetched from elsewhere.
    loader: { '.svg': 'file', '.png': 'file', '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file' },
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    jsx: 'automatic',
    legalComments: 'linked',
    sourcemap: app.sourcemap,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((o) => path.relative(tmp, path.join(root, o)));
  const assets = {};
  for (const o of outputs) {
    const m = /^(.+)-[A-Z0-9]{8}(\.[a-z]+)$/.exec(o);
    if (m) assets[m[1] + m[2]] = o;
  }
  for (const file of SHARED_ASSETS) {
    const content = fs.readFileSync(path.join(root, file));
    const name = hashName(file, content);
    fs.writeFileSync(path.join(tmp, name), content);
    assets[path.basename(file)] = name;
  }
  const html = fs.readFileSync(path.join(root, app.html), 'utf8').replace(/%ASSET:([\w.-]+)%/g, (_, name) => {
    if (!assets[name]) throw new Error(`${app.html}: no built asset ${name} (have ${Object.keys(assets).join(', ')})`);
    return app.prefix + assets[name];
  });
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  checkOffline(app.name, tmp);
  compress(tmp);
  return outputs;
}

/** Replaces dist/public/<name> with the fresh build (a reader sees the old or the new one). */
function swap(tmp, dest) {
  const old = `${dest}.old-${process.pid}`;
  if (fs.existsSync(dest)) fs.renameSync(dest, old);
  fs.renameSync(tmp, dest);
  fs.rmSync(old, { recursive: true, force: true });
}

function size(n) {
  return n > 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

async function main() {
  const fp = fingerprint();
  if (upToDate(fp)) return;
  const started = Date.now();
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    throw new Error('esbuild is not installed: run npm install');
  }
  fs.mkdirSync(outRoot, { recursive: true });
  const report = [];
  for (const app of APPS) {
    const tmp = fs.mkdtempSync(path.join(outRoot, `.tmp-${app.name}-`));
    fs.chmodSync(tmp, 0o755);
    try {
      await buildApp(esbuild, app, tmp);
      const js = walk(tmp).filter((f) => /\.(js|css)$/.test(f));
      report.push(`${app.name}: ${js.map((f) => `${path.basename(f)} ${size(fs.statSync(f).size)}`).join(', ')}`);
      swap(tmp, path.join(outRoot, app.name));
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  fs.writeFileSync(stampFile, JSON.stringify({ fingerprint: fp, builtAt: new Date().toISOString() }) + '\n');
  console.log(`web: built in ${Date.now() - started} ms → dist/public (${report.join('; ')})`);
}

module.exports = { main };

if (require.main === module) {
  main().catch((e) => {
    console.error(`web build failed: ${e.message}`);
    process.exit(1);
  });
}
