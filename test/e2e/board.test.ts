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
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
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
    expect(await page.textContent(`[data-testid="warehouse"][data-code="${wh.code}"] [data-testid="warehouse-total"]`)).toBe('2 SKUs · 8 available');
    // Both streams delivered: the movement (inventoryChanged) and the crossing (stockStatusChanged).
    await page.waitForSelector(`[data-testid="feed-item"]:has-text("${low} @ ${wh.code}: -12")`);
    await page.waitForSelector(`[data-testid="feed-item"]:has-text("${out} @ ${wh.code}: Low →")`);
    await page.waitForFunction((sku) => Number(document.querySelector(`[data-testid="spark"][data-sku="${sku}"]`)?.getAttribute('data-points')) >= 2, low);

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
