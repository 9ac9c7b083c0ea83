/**
 * The GraphQL IDE: GET /graphql from a browser serves GraphiQL, bundled by the build and served by
 * this server — no CDN, so it works offline. Also: the switch (GRAPHIQL), content types and cache
 * headers, no directory traversal, GraphQL itself unaffected, and (with Chromium) the IDE running
 * with every non-local request blocked, including a subscription over graphql-ws.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { tuningEnv } from '../../src/config/tuning';
import { createProduct, createWarehouse, setStock } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { eventually } from '../helpers/poll';
import { startTestServer, type TestServer } from '../helpers/server';

// Page functions (page.waitForFunction) run in the browser; this file is type-checked without the DOM lib.
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser) {
  const line = '!'.repeat(100);
  const msg = `${line}\n!!! SKIPPED: the in-browser part of test/e2e/ide.test.ts — no Chromium at ${CHROMIUM}.\n!!! Install it: apt-get install -y chromium (or set CHROMIUM_PATH).\n${line}`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(msg);
  // Straight to stderr, not console.warn: Jest drops the console output of a file whose tests are all skipped.
  process.stderr.write(`\n${msg}\n\n`);
}
const browserTest = haveBrowser ? test : test.skip;

/**
 * Hosts that may appear in the JavaScript as plain strings — XML namespaces and documentation links
 * in error messages and comments of React, CodeMirror, markdown-it and GraphiQL — never fetched.
 * Anything else (a CDN, a font service) fails the test.
 */
const REFERENCE_ONLY_HOSTS = new Set([
  'www.w3.org',
  'reactjs.org',
  'react.dev',
  'github.com',
  'en.wikipedia.org',
  'commonmark.org',
  'codemirror.net',
  'yarnpkg.com',
  'spec.graphql.org',
  'graphql.org',
]);
const CDN_HOSTS = [
  'unpkg.com',
  'cdn.jsdelivr.net',
  'cdnjs.cloudflare.com',
  'fonts.googleapis.com',
  'fonts.gstatic.com',
  'esm.sh',
  'cdn.skypack.dev',
  'cdn.apollographql.com',
];

let t: TestServer;
let origin: string;

beforeAll(async () => {
  t = await startTestServer();
  origin = new URL(t.url).origin;
});
afterAll(async () => {
  await t?.stop();
});

const html = (url: string, init: RequestInit = {}) =>
  fetch(url, { ...init, headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', ...(init.headers ?? {}) } });

/** A request with the path sent exactly as given (fetch would normalize it). */
function rawGet(port: number, rawPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET', headers: { accept: '*/*' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every script and stylesheet (and icon) the page refers to. */
function assetUrls(page: string): string[] {
  const urls: string[] = [];
  for (const m of page.matchAll(/<script\b[^>]*\bsrc\s*=\s*["']([^"']+)["']/gi)) urls.push(m[1]);
  for (const m of page.matchAll(/<link\b[^>]*\bhref\s*=\s*["']([^"']+)["']/gi)) urls.push(m[1]);
  return urls;
}

const EXPECTED_TYPE: Record<string, RegExp> = {
  '.js': /^text\/javascript; charset=utf-8$/,
  '.css': /^text\/css; charset=utf-8$/,
  '.svg': /^image\/svg\+xml$/,
};

test('GET /graphql from a browser serves GraphiQL; every asset comes from this server, none from a CDN', async () => {
  const res = await html(t.url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-cache');
  expect(res.headers.get('vary')).toMatch(/Accept/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toMatch(/style-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  const page = await res.text();
  expect(page).toContain('id="graphiql"');
  expect(page).not.toContain('%CSP_NONCE%'); // the nonce was filled in
  expect(page).not.toMatch(/https?:\/\//); // not even a link

  const assets = assetUrls(page);
  expect(assets.filter((a) => a.endsWith('.js'))).toHaveLength(1);
  expect(assets.filter((a) => a.endsWith('.css'))).toHaveLength(1);
  const bundles: { url: string; text: string }[] = [];
  for (const a of assets) {
    expect(a).not.toMatch(/^(?:[a-z]+:)?\/\//i); // relative: resolved against this server
    const u = new URL(a, t.url);
    expect(u.origin).toBe(origin);
    expect(u.pathname).toMatch(/^\/ide\//);
    const r = await fetch(u);
    expect(r.status).toBe(200);
    const ext = path.extname(u.pathname);
    expect(r.headers.get('content-type')).toMatch(EXPECTED_TYPE[ext]);
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('etag')).toBeTruthy();
    const text = await r.text();
    expect(text.length).toBeGreaterThan(ext === '.svg' ? 50 : 1000);
    if (ext !== '.svg') bundles.push({ url: u.pathname, text });
  }

  for (const { url, text } of bundles) {
    for (const host of CDN_HOSTS) expect(`${url}: ${text.includes(host) ? host : ''}`).toBe(`${url}: `);
    if (url.endsWith('.css')) {
      // GraphiQL's fonts are inlined as data: URLs; nothing else may be referenced.
      expect(text).not.toMatch(/https?:\/\//);
      expect(text).not.toMatch(/@import/);
      const refs = [...text.matchAll(/url\(\s*["']?([^"')]+)/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(ref).toMatch(/^(data:|#)/);
    } else {
      const hosts = new Set([...text.matchAll(/https?:\/\/([a-z0-9.-]+)/gi)].map((m) => m[1].toLowerCase()));
      const unexpected = [...hosts].filter((h) => !REFERENCE_ONLY_HOSTS.has(h));
      expect(unexpected).toEqual([]);
      // And nothing is loaded from a URL: no remote import(), script src or stylesheet.
      expect(text).not.toMatch(/import\(\s*["'`]https?:/);
      expect(text).not.toMatch(/\.src\s*=\s*["'`]https?:/);
    }
  }
});

test('assets: conditional requests, compression, HEAD, and only GET/HEAD', async () => {
  const page = await (await html(t.url)).text();
  const js = new URL(
    assetUrls(page).find((a) => a.endsWith('.js'))!,
    t.url,
  );
  const first = await fetch(js, { headers: { 'accept-encoding': 'br' } });
  expect(first.headers.get('content-encoding')).toBe('br');
  expect(first.headers.get('vary')).toBe('Accept-Encoding');
  const etag = first.headers.get('etag')!;
  await first.arrayBuffer();
  const again = await fetch(js, { headers: { 'if-none-match': etag } });
  expect(again.status).toBe(304);
  const gz = await fetch(js, { headers: { 'accept-encoding': 'gzip' } });
  expect(gz.headers.get('content-encoding')).toBe('gzip');
  const plain = await rawGet(t.gateway.port, js.pathname);
  expect(plain.status).toBe(200);
  expect(plain.body.length).toBeGreaterThan(100_000);
  const head = await fetch(js, { method: 'HEAD' });
  expect(head.status).toBe(200);
  expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
  const post = await fetch(js, { method: 'POST', body: 'x' });
  expect(post.status).toBe(405);
  expect(post.headers.get('allow')).toBe('GET, HEAD');
  const headPage = await html(t.url, { method: 'HEAD' });
  expect(headPage.status).toBe(200);
  expect(headPage.headers.get('content-type')).toBe('text/html; charset=utf-8');
  // Unknown assets are 404 JSON, like any unknown path.
  const missing = await fetch(`${origin}/ide/nope-00000000.js`);
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toMatch(/application\/json/);
});

test('GraphQL is unaffected: POST, GET with a query, and non-HTML clients never get the IDE', async () => {
  expect(await ok(t.gql(`{ __typename }`))).toEqual({ __typename: 'Query' });
  // A GraphQL GET request carries `query`: it is executed, even when the client accepts HTML.
  const get = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}`, {
    headers: { accept: 'text/html, application/json', 'apollo-require-preflight': 'true' },
  });
  expect(get.headers.get('content-type')).toMatch(/application\/(graphql-response\+)?json/);
  expect(await get.json()).toMatchObject({ data: { __typename: 'Query' } });
  // A JSON client asking GET /graphql without a query gets GraphQL's answer, not a page.
  const bare = await fetch(t.url, { headers: { accept: 'application/json' } });
  expect(bare.status).toBeGreaterThanOrEqual(400);
  expect(bare.headers.get('content-type')).toMatch(/json/);
});

test('no directory traversal out of the asset folders', async () => {
  const port = t.gateway.port;
  const attempts = [
    '/ide/..%2f..%2f..%2fpackage.json',
    '/ide/..%2F..%2F..%2Fsrc%2Fconfig.ts',
    '/board/..%2f..%2f..%2fpackage.json',
    '/board/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/ide/..%5c..%5c..%5cpackage.json',
    '/ide/%252e%252e%252fpackage.json',
    '/ide/../../../package.json',
    '/board/../../package.json',
    '/ide/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/ide//etc/passwd',
    '/ide/%2fetc%2fpasswd',
    '/ide/.build-stamp.json',
    '/ide/..',
    '/ide/%00',
    '/ide/%E0%A4%A',
    '/board/index.html',
  ];
  for (const p of attempts) {
    const r = await rawGet(port, p);
    expect(`${p} → ${r.status}`).toMatch(/ → (400|404)$/);
    expect(r.body).not.toContain('inventory-gateway');
    expect(r.body).not.toContain('root:');
    expect(r.body).not.toContain('ConfigError');
  }
  // The compressed copies are not addressable directly either.
  const page = await (await html(t.url)).text();
  const js = assetUrls(page).find((a) => a.endsWith('.js'))!;
  expect((await rawGet(port, `/${js}.gz`)).status).toBe(404);
});

test('GRAPHIQL=false: no IDE (a page says it is off and how to turn it on; GraphQL answers API requests); the default is off in production', async () => {
  expect(loadConfig({ NODE_ENV: 'production' }).graphiql).toBe(false);
  expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' }).graphiql).toBe(true);
  expect(loadConfig({ NODE_ENV: 'development' }).graphiql).toBe(true);
  expect(loadConfig({}).board).toBe(true);
  expect(loadConfig({ INVENTORY_TUNING: tuningEnv({ BOARD: false }) }).board).toBe(false);
  expect(() => loadConfig({ GRAPHIQL: 'maybe' })).toThrow(/GRAPHIQL/);

  const page = await (await html(t.url)).text();
  const js = assetUrls(page).find((a) => a.endsWith('.js'))!;
  const off = await startTestServer({ GRAPHIQL: 'false', INVENTORY_TUNING: tuningEnv({ BOARD: false }) });
  try {
    // A browser gets a short page saying the IDE is off and how to turn it on (not a CSRF error in JSON).
    const r = await html(off.url);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    const text = await r.text();
    expect(text).toContain('The GraphQL IDE is off');
    expect(text).toContain('GRAPHIQL=true');
    expect(text).not.toMatch(/<script|csrf/i);
    expect((await fetch(new URL(js, off.url))).status).toBe(404);
    expect((await html(`${new URL(off.url).origin}/board`)).status).toBe(404);
    expect(await ok(off.gql(`{ __typename }`))).toEqual({ __typename: 'Query' });
  } finally {
    await off.stop();
  }
});

browserTest(
  'in Chromium, offline: GraphiQL renders, loads the schema and runs a subscription over graphql-ws',
  async () => {
    const wh = await createWarehouse(t.gql);
    const p = await createProduct(t.gql);
    const sku = p.skus[0];
    await setStock(t.gql, sku, wh.code, 3);

    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ide-chromium-'));
    let ctx: BrowserContext | null = null;
    try {
      ctx = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
        viewport: { width: 1400, height: 900 },
      });
      const external: string[] = [];
      await ctx.route('**/*', (route) => {
        const u = route.request().url();
        if (u.startsWith(`${origin}/`) || u.startsWith('data:')) return route.continue();
        external.push(u);
        return route.abort();
      });
      const page = await ctx.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      const frames: string[] = [];
      page.on('websocket', (ws) => {
        ws.on('framesent', (f) => frames.push(`> ${String(f.payload).slice(0, 300)}`));
        ws.on('framereceived', (f) => frames.push(`< ${String(f.payload).slice(0, 300)}`));
        ws.on('close', () => frames.push('closed'));
      });
      await page.goto(`${t.url}#key=${encodeURIComponent(t.store.adminKey)}`);
      await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 30_000 });
      expect(page.url()).not.toContain(t.store.adminKey);
      // The key is in the Headers tab.
      expect(await page.textContent('.graphiql-editor-tool')).toContain(`Bearer ${t.store.adminKey}`);
      // The schema loaded (introspection over HTTP): the docs explorer lists the root types.
      await page.click('[aria-label="Show Documentation Explorer"]');
      await page.waitForSelector('.graphiql-doc-explorer :text("Subscription")', { timeout: 20_000 });
      // A dialog adds a <style> element at run time: allowed by the CSP nonce.
      await page.click('[aria-label="Open settings dialog"]');
      await page.waitForSelector('.graphiql-dialog');
      await page.keyboard.press('Escape');

      // Second tab: the subscription. Run it, change stock over HTTP, see the event arrive.
      await page.click('.graphiql-tab:has-text("StatusChanges") button.graphiql-tab-button');
      await page.waitForSelector('.graphiql-tab-active:has-text("StatusChanges")');
      await page.waitForFunction(() =>
        document.querySelector('.graphiql-query-editor')?.textContent?.includes('subscription StatusChanges'),
      );
      await page.waitForTimeout(300); // GraphiQL updates the tab's operation name just after its editor
      const subscribersBefore = t.gateway.subscriptions.stats.subscribers;
      await page.click('.graphiql-execute-button');
      try {
        await page.waitForSelector('.graphiql-execute-button[aria-label*="Stop"]', { timeout: 10_000 });
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\nframes: ${frames.join('\n')}\nresult: ${await page.textContent('.result-window')}\nlabel: ${await page.getAttribute('.graphiql-execute-button', 'aria-label')}`,
          { cause: e },
        );
      }
      await eventually('the server to register the subscription', () => t.gateway.subscriptions.stats.subscribers > subscribersBefore);
      await ok(
        t.gql(`mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`, {
          i: { sku, warehouseCode: wh.code, delta: -3, reason: 'SALE' },
        }),
      );
      await page.waitForFunction(
        (s) => {
          const text = document.querySelector('.result-window')?.textContent ?? '';
          return text.includes('"OUT_OF_STOCK"') && text.includes(s);
        },
        sku,
        { timeout: 20_000 },
      );
      fs.mkdirSync(path.resolve(__dirname, '..', '..', 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.resolve(__dirname, '..', '..', 'test-artifacts', 'ide.png') });

      expect(external).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await ctx?.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  },
  120_000,
);
