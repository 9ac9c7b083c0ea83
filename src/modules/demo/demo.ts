/**
 * Demo data: a store "demo" with three warehouses (one read-only FBA), products with variants,
 * stock and thresholds. Stock goes through the stock writer, so the ledger matches from the start.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { App } from '../../app';
import type { Config } from '../../config';
import type { AuthInfo } from '../../graphql/scopes';
import { createApiKey } from '../auth';
import { createProduct, createWarehouse } from '../catalog';
import { InventoryService } from '../inventory';

export const DEMO_STORE = 'demo';

const WAREHOUSES = [
  { code: 'BER-1', name: 'Warehouse Berlin', address: 'Industriestraße 1, 12345 Berlin, DE', type: 'OWN' as const, priority: 1 },
  { code: 'HAM-2', name: 'Warehouse Hamburg', address: 'Hafenstraße 9, 20457 Hamburg, DE', type: 'THIRD_PARTY' as const, priority: 2 },
  { code: 'FBA-EU', name: 'FBA EU', address: null, type: 'FBA' as const, priority: 3, readOnly: true, marketplace: 'amazon_eu' },
];

const PRODUCTS = [
  {
    name: 'Blue Widget 500ml',
    externalId: 'WIDGET-BLUE',
    variants: [{ sku: 'SKU-001', label: '500ml', price: { amount: '4.99', currencyCode: 'EUR' } }],
    stock: { 'BER-1': 350, 'HAM-2': 137 },
  },
  {
    name: 'Premium Rose Bouquet',
    externalId: 'PRB',
    variants: [
      {
        sku: 'PRB-SM-RED',
        options: [
          { name: 'Size', value: 'Small' },
          { name: 'Color', value: 'Red' },
        ],
        price: { amount: '500', currencyCode: 'BDT' },
      },
      {
        sku: 'PRB-LG-RED',
        options: [
          { name: 'Size', value: 'Large' },
          { name: 'Color', value: 'Red' },
        ],
        isDefault: true,
        price: { amount: '750', currencyCode: 'BDT' },
      },
      {
        sku: 'PRB-LG-WHT',
        options: [
          { name: 'Size', value: 'Large' },
          { name: 'Color', value: 'White' },
        ],
        price: { amount: '750', currencyCode: 'BDT' },
      },
    ],
    stock: { 'BER-1': 25, 'HAM-2': 4 },
  },
  {
    name: 'Thiéboudienne Royale',
    externalId: 'THIEB-001',
    variants: [
      { sku: 'THIEB-N', label: 'Normal' },
      { sku: 'THIEB-G', label: 'Grand' },
    ],
    stock: { 'BER-1': 3 },
  },
  { name: 'Seasonal Flower Basket', externalId: 'SFB-149', variants: [{ sku: 'SFB-149', label: 'Default' }], stock: {} },
];

/** Loads the demo into the database (store "demo"). Returns null if it is already there. */
export async function seedDemo(app: App): Promise<{ storeId: string; devKey: string } | null> {
  const prisma = app.db.prisma;
  const existing = await prisma.store.findUnique({ where: { code: DEMO_STORE } });
  if (existing) return null;
  const store = await prisma.store.create({ data: { code: DEMO_STORE, name: 'Demo store' } });
  for (const w of WAREHOUSES) await createWarehouse(prisma, store.id, w);
  const auth: AuthInfo = { keyId: 'seed', storeId: store.id, kind: 'sk', scopes: ['admin'], actor: 'system:seed' };
  const inventory = new InventoryService(app);
  for (const p of PRODUCTS) {
    const r = await createProduct(prisma, store.id, { name: p.name, externalId: p.externalId, variants: p.variants });
    if (!r.value) throw new Error(`demo product ${p.name}: ${JSON.stringify(r.userErrors)}`);
    for (const [i, v] of p.variants.entries()) {
      for (const [code, qty] of Object.entries(p.stock)) {
        const q = Math.max(0, qty - i * 3);
        await inventory.set(auth, { sku: v.sku, warehouseCode: code, quantity: q, reason: 'RECEIVED', note: 'demo data' });
        await inventory.updateLevel(auth, { sku: v.sku, warehouseCode: code, lowStockThreshold: 10, criticalThreshold: 3 });
      }
    }
  }
  const key = await createApiKey(prisma, { storeId: store.id, kind: 'sk', scopes: ['admin'], name: 'development key' });
  return { storeId: store.id, devKey: key.key };
}

/** First start of an empty embedded database: load the demo and print a development key. */
export async function loadDemoIfEmpty(app: App): Promise<void> {
  const { config, log } = app;
  const wanted = config.seedDemo === 'always' || (config.seedDemo === 'auto' && app.db.kind === 'pglite');
  if (!wanted) return;
  if ((await app.db.prisma.store.count()) > 0) return;
  const r = await seedDemo(app);
  if (!r) return;
  const file = writeDevKeyFile(config, r.devKey);
  log.info('demo data loaded', { store: DEMO_STORE });
  process.stdout.write(
    `\n  Development API key (admin scope, store "${DEMO_STORE}"): ${r.devKey}\n  ${file ? `Saved to ${file}. ` : ''}Send it as "Authorization: Bearer <key>".\n\n`,
  );
}

/**
 * Keeps the development key beside the embedded database it belongs to (DATA_DIR/dev-api-key.txt,
 * mode 0600). A PostgreSQL or throwaway (memory://) database has no directory of its own here:
 * its key is only printed, so it never overwrites the embedded database's key. Returns the file, or null.
 */
export function writeDevKeyFile(config: Config, key: string): string | null {
  if (config.databaseUrl || config.dataDir === 'memory://') return null;
  const file = path.resolve(config.dataDir, 'dev-api-key.txt');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, key + '\n', { mode: 0o600 });
  return file;
}
