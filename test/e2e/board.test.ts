/**
 * The live stock board (GET /board) in a real browser: Debian's Chromium driven by playwright-core.
 * An adjust mutation over HTTP must show up on the open page — new status, row and alert list —
 * through the subscriptions, without a reload. A screenshot is saved to test-artifacts/board.png.
 *
 * Without /usr/bin/chromium (or CHROMIUM_PATH) the tests are skipped with a loud warning;
 * REQUIRE_BROWSER=1 turns that into a failure. CI installs chromium (see .ci/run).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createProduct, createWarehouse, setStock } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// Page functions (page.evaluate) run in the browser; this file is type-checked without the DOM lib.
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
declare const window: { __noReload?: number };
declare const localStorage: { getItem(key: string): string | null; removeItem(key: string): void };

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const haveBrowser = fs.existsSync(CHROMIUM);
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

if (!haveBrowser) {
  const line = '!'.repeat(100);
  const msg = `${line}\n!!! SKIPPED: test/e2e/board.test.ts — no Chromium at ${CHROMIUM}.\n!!! The live board is NOT tested. Install it: apt-get install -y chromium (or set CHROMIUM_PATH).\n${line}`;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(msg);
  // Straight to stderr, not console.warn: Jest drops the console output of a file whose tests are all skipped.
  process.stderr.write(`\n${msg}\n\n`);
}
const browserTest = haveBrowser ? test : test.skip;

const ADJUST = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { inventoryLevel { status available } userErrors { code message } } }`;
const LEVEL_UPDATE = `mutation($i: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $i) { userErrors { code message } } }`;

let t: TestServer;
let ctx: BrowserContext | null = null;
let userDataDir: string | null = null;
const external: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  t = await startTestServer();
  if (!haveBrowser) return;
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'board-chromium-'));
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
  // Offline: only our server may be reached.
  const origin = new URL(t.url).origin;
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(`${origin}/`) || u.startsWith('data:')) return route.continue();
    external.push(u);
    return route.abort();
  });
});

afterAll(async () => {
  await ctx?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  await t?.stop();
});

async function openPage(hash = ''): Promise<Page> {
  const page = await ctx!.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${new URL(t.url).origin}/board${hash}`);
  return page;
}

const row = (sku: string, wh: string) => `[data-testid="level-row"][data-sku="${sku}"][data-warehouse="${wh}"]`;
const alert = (status: string, sku: string) => `[data-testid="list-${status}"] [data-testid="alert-item"][data-sku="${sku}"]`;

browserTest(
  'the board shows stock per warehouse and follows adjustments live, without a reload',
  async () => {
    const wh = await createWarehouse(t.gql);
    const p = await createProduct(t.gql, { skus: [`BOARD-LOW-${Date.now()}`, `BOARD-OUT-${Date.now()}`] });
    const [low, out] = p.skus;
    await setStock(t.gql, low, wh.code, 20);
    await setStock(t.gql, out, wh.code, 5);
    for (const sku of [low, out]) {
      const r = await ok(t.gql(LEVEL_UPDATE, { i: { sku, warehouseCode: wh.code, lowStockThreshold: 10, criticalThreshold: 3 } }));
      expect(r.inventoryLevelUpdate.userErrors).toEqual([]);
    }

    const page = await openPage(`#key=${encodeURIComponent(t.store.adminKey)}`);
    await page.waitForSelector('[data-testid="connection"][data-state="live"]', { timeout: 20_000 });
    await page.waitForSelector(`${row(low, wh.code)}[data-status="IN_STOCK"]`);
    await page.waitForSelector(`${row(out, wh.code)}[data-status="LOW_STOCK"]`);
    expect(await page.textContent(`${row(low, wh.code)} [data-testid="available"]`)).toBe('20');
    await page.waitForSelector(alert('LOW_STOCK', out));
    // The key left the address bar (kept in localStorage for the next visit).
    expect(page.url()).not.toContain(t.store.adminKey);
    expect(await page.evaluate(() => localStorage.getItem('inventory.apiKey'))).toBe(t.store.adminKey);
    // The sparkline was seeded from the ledger (the receipt of 20).
    expect(Number(await page.getAttribute(`[data-testid="spark"][data-sku="${low}"]`, 'data-points'))).toBeGreaterThanOrEqual(1);

    // A marker that a reload would wipe.
    await page.evaluate(() => (window.__noReload = 42));
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });

    const a = await ok(t.gql(ADJUST, { i: { sku: low, warehouseCode: wh.code, delta: -12, reason: 'DAMAGED' } }));
    expect(a.inventoryAdjust.inventoryLevel).toEqual({ status: 'LOW_STOCK', available: 8 });
    const b = await ok(t.gql(ADJUST, { i: { sku: out, warehouseCode: wh.code, delta: -5, reason: 'SALE' } }));
    expect(b.inventoryAdjust.inventoryLevel).toEqual({ status: 'OUT_OF_STOCK', available: 0 });

    await page.waitForSelector(`${row(low, wh.code)}[data-status="LOW_STOCK"]`, { timeout: 20_000 });
    await page.waitForSelector(`${row(out, wh.code)}[data-status="OUT_OF_STOCK"]`, { timeout: 20_000 });
    await page.waitForSelector(alert('LOW_STOCK', low));
    await page.waitForSelector(alert('OUT_OF_STOCK', out));
    expect(await page.$(alert('LOW_STOCK', out))).toBeNull(); // moved from the low list to the out list
    expect(await page.textContent(`${row(low, wh.code)} [data-testid="available"]`)).toBe('8');
    expect(await page.textContent(`${row(out, wh.code)} [data-testid="status"]`)).toBe('Out of stock');
    // The warehouse's total follows the rows (8 + 0 available).
    expect(await page.textContent(`[data-testid="warehouse"][data-code="${wh.code}"] [data-testid="warehouse-total"]`)).toBe(
      '2 SKUs · 8 available',
    );
    // Both streams delivered: the movement (inventoryChanged) and the crossing (stockStatusChanged).
    await page.waitForSelector(`[data-testid="feed-item"]:has-text("${low} @ ${wh.code}: -12")`);
    await page.waitForSelector(`[data-testid="feed-item"]:has-text("${out} @ ${wh.code}: Low →")`);
    await page.waitForFunction(
      (sku) => Number(document.querySelector(`[data-testid="spark"][data-sku="${sku}"]`)?.getAttribute('data-points')) >= 2,
      low,
    );

    expect(await page.evaluate(() => window.__noReload)).toBe(42);
    expect(navigations).toBe(0);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'board.png'), fullPage: true });
    await page.close();

    expect(external).toEqual([]);
    expect(problems).toEqual([]);
  },
  120_000,
);

browserTest(
  'without a key the board asks for one; a rejected key is reported',
  async () => {
    const page = await openPage();
    await page.evaluate(() => localStorage.removeItem('inventory.apiKey'));
    await page.reload();
    await page.waitForSelector('[data-testid="connection"][data-state="nokey"]');
    await page.fill('[data-testid="api-key-input"]', 'sk_not_a_real_key_0000000000000');
    await page.click('[data-testid="connect"]');
    await page.waitForSelector('[data-testid="connection"][data-state="denied"]', { timeout: 20_000 });
    expect(await page.isVisible('[data-testid="error"]')).toBe(true);
    await page.close();
    expect(external).toEqual([]);
  },
  60_000,
);

/** Runs in the page: what a sideways-scrolling, cramped or colour-only layout would show. */
const LAYOUT_PROBE = `(() => {
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const outside = [...document.querySelectorAll('body *')]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5; })
    .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : ''));
  const outOfCard = [...document.querySelectorAll('[data-testid="warehouse"] td')]
    .filter((td) => { const c = td.closest('.card').getBoundingClientRect(); const r = td.getBoundingClientRect(); return r.right > c.right + 0.5 || r.left < c.left - 0.5; })
    .map((td) => td.className + ':' + td.textContent);
  const brokenSkus = [...document.querySelectorAll('[data-testid="level-row"] td.sku, [data-testid="alert-item"] .sku')]
    .filter((el) => { const range = document.createRange(); range.selectNodeContents(el); return range.getClientRects().length > 1; })
    .map((el) => el.textContent);
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const badges = {};
  for (const el of document.querySelectorAll('[data-testid="level-row"] [data-testid="status"]')) {
    const s = getComputedStyle(el);
    badges[el.dataset.status] = { text: el.textContent, color: rgb(s.color), background: rgb(s.backgroundColor), weight: s.fontWeight, icon: getComputedStyle(el, '::before').content };
  }
  for (const b of Object.values(badges)) b.contrast = Math.round(contrast(b.color, b.background) * 100) / 100;
  const lowVsCritical = badges.LOW_STOCK && badges.CRITICAL ? Math.round(contrast(badges.LOW_STOCK.background, badges.CRITICAL.background) * 100) / 100 : null;
  return { width, scrollWidth: doc.scrollWidth, outside, outOfCard, brokenSkus, badges, lowVsCritical, totals: [...document.querySelectorAll('[data-testid="warehouse-total"]')].map((e) => e.textContent) };
})()`;

interface LayoutProbe {
  width: number;
  scrollWidth: number;
  outside: string[];
  outOfCard: string[];
  brokenSkus: string[];
  badges: Record<string, { text: string; contrast: number; icon: string; weight: string }>;
  lowVsCritical: number | null;
  totals: string[];
}

browserTest(
  'on a phone (390 px) and a desktop (1440 px): no horizontal overflow, whole SKUs, statuses told apart without colour, badge contrast ≥ 4.5:1 (WCAG AA)',
  async () => {
    const stamp = Date.now().toString(36).toUpperCase();
    const wh = await createWarehouse(t.gql);
    const single = await createWarehouse(t.gql);
    const p = await createProduct(t.gql, { skus: ['IN', 'LOW', 'CRIT', 'OUT'].map((s) => `PRB-LG-RED-${s}-${stamp}`) });
    const qty = [50, 8, 2, 0];
    for (const [i, sku] of p.skus.entries()) {
      await setStock(t.gql, sku, wh.code, qty[i]);
      const r = await ok(t.gql(LEVEL_UPDATE, { i: { sku, warehouseCode: wh.code, lowStockThreshold: 10, criticalThreshold: 3 } }));
      expect(r.inventoryLevelUpdate.userErrors).toEqual([]);
    }
    await setStock(t.gql, p.skus[0], single.code, 7);
    const statuses = ['IN_STOCK', 'LOW_STOCK', 'CRITICAL', 'OUT_OF_STOCK'];

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const [width, height] of [
      [390, 844],
      [1440, 900],
    ]) {
      const page = await openPage(`#key=${encodeURIComponent(t.store.adminKey)}`);
      await page.setViewportSize({ width, height });
      await page.waitForSelector('[data-testid="connection"][data-state="live"]', { timeout: 20_000 });
      for (const [i, sku] of p.skus.entries()) await page.waitForSelector(`${row(sku, wh.code)}[data-status="${statuses[i]}"]`);
      await page.waitForSelector(
        `[data-testid="warehouse"][data-code="${single.code}"] [data-testid="warehouse-total"]:has-text("available")`,
      );
      await page.screenshot({ path: path.join(ARTIFACTS, `board-${width}.png`), fullPage: true });
      const probe = (await page.evaluate(LAYOUT_PROBE)) as LayoutProbe;
      const at = `at ${width} px: ${JSON.stringify(probe)}`;
      expect([at, probe.scrollWidth]).toEqual([at, probe.width]);
      expect([at, probe.outside]).toEqual([at, []]);
      expect([at, probe.outOfCard]).toEqual([at, []]);
      expect([at, probe.brokenSkus]).toEqual([at, []]);
      expect(probe.totals).toContain(`1 SKU · 7 available`);
      expect(probe.totals).toContain(`4 SKUs · 60 available`);
      // Each status has its own icon and label, and its text is readable on its fill.
      const icons = statuses.map((s) => probe.badges[s]?.icon);
      expect(icons.every((c) => c && c !== 'none' && c !== 'normal')).toBe(true);
      expect(new Set(icons).size).toBe(4);
      for (const s of statuses) expect([s, probe.badges[s].contrast >= 4.5]).toEqual([s, true]);
      // Low and Critical differ in lightness (light vs solid fill) and text weight, not in hue alone.
      expect(probe.lowVsCritical).toBeGreaterThanOrEqual(3);
      expect(probe.badges.LOW_STOCK.weight).not.toBe(probe.badges.CRITICAL.weight);
      await page.close();
    }
    expect(external).toEqual([]);
    expect(problems).toEqual([]);
  },
  120_000,
);
