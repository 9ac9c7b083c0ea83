/**
 * inventoryBulkUpdate (and the CSV import): many SET / ADJUST items in one transaction. Items are
 * validated and resolved to levels first (failures are reported per item), then applied through
 * the stock writer in ascending level id; REJECT_EVERYTHING rolls all back when one failed.
 */
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import { LIMITS, validateText } from '../../validation';
import type { AuthInfo } from '../../graphql/scopes';
import { validatePrice, type Money } from '../catalog';
import {
  applyBulkChanges,
  ensureLevels,
  findLevels,
  type BulkChange,
  type LevelChange,
  type LevelRow,
  type MovementReason,
  type OpResult,
} from '../stock';
import { changeLevel, levelResult, noteErrors, quantityErrors } from './inventory.rules';
import { applyBulkPolicies, itemPolicyErrors, type LevelPolicyInput, type VariantPolicyInput } from './bulk-policy';

/** The writer's change for one item (SET counts as a cycle count, ADJUST as a correction, unless a reason is given). */
function changeOf(it: BulkItem, levelId: string, input: BulkInput): BulkChange {
  return modeOf(it) === 'SET'
    ? { levelId, mode: 'set', value: it.quantity!, reason: it.reason ?? input.reason ?? 'CYCLE_COUNT', note: it.note }
    : { levelId, mode: 'delta', value: it.delta!, reason: it.reason ?? input.reason ?? 'CORRECTION', note: it.note };
}

/** The same change as one applyLevelChange() call. */
function levelChange(auth: AuthInfo, c: BulkChange, input: BulkInput): LevelChange {
  const common = {
    storeId: auth.storeId,
    levelId: c.levelId,
    reason: c.reason,
    note: c.note,
    actor: auth.actor,
    idempotencyKey: input.idempotencyKey,
  };
  return c.mode === 'set'
    ? { ...common, mode: 'set', setOnHand: c.value }
    : { ...common, mode: 'delta', onHandDelta: c.value, requireAvailable: c.value < 0 };
}

export type BulkMode = 'SET' | 'ADJUST';
export type ErrorPolicy = 'REJECT_EVERYTHING' | 'REJECT_FAILED_ROWS';

export interface BulkItem {
  /** Omitted or null: ADJUST (seed 004). */
  mode?: BulkMode | null;
  quantity?: number | null;
  delta?: number | null;
  sku?: string | null;
  variantId?: string | null;
  productExternalId?: string | null;
  variantLabel?: string | null;
  warehouseId?: string | null;
  warehouseCode?: string | null;
  reason?: MovementReason | null;
  note?: string | null;
  /** Also set the variant's price (seed 002; CSV import's price and currency columns). */
  price?: Money | null;
  /** Also set the variant's backorder policy (CSV import's inventoryPolicy and backorderLimit columns). */
  variantPolicy?: VariantPolicyInput | null;
  /** Also set (or, INHERIT, drop) the level's policy override (CSV levelInventoryPolicy, levelBackorderLimit). */
  levelPolicy?: LevelPolicyInput | null;
}

export interface BulkInput {
  items: BulkItem[];
  errorPolicy?: ErrorPolicy | null;
  reason?: MovementReason | null;
  idempotencyKey?: string | null;
}

export interface BulkItemResult {
  index: number;
  inventoryLevel: LevelRow | null;
  userErrors: UserErrorShape[];
}

export interface BulkResult extends OpResult {
  updatedCount: number;
  failedCount: number;
  results: BulkItemResult[];
}

/** A bulk item's mode: ADJUST when omitted. */
export const modeOf = (it: BulkItem): BulkMode => it.mode ?? 'ADJUST';

/** Validates one item alone; failures go to `e`. */
function itemErrors(it: BulkItem, i: number, e: UserErrorShape[]): void {
  const f = ['input', 'items', i];
  const ways = [it.sku != null, it.variantId != null, it.productExternalId != null].filter(Boolean).length;
  if (ways !== 1) e.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of sku, variantId or productExternalId (+ variantLabel)', f));
  if ((it.warehouseId == null) === (it.warehouseCode == null))
    e.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of warehouseId or warehouseCode', [...f, 'warehouseCode']));
  if (modeOf(it) === 'SET') {
    if (it.quantity == null || it.delta != null)
      e.push(userError(ErrorCode.INVALID_INPUT, 'mode SET takes quantity (and no delta)', [...f, 'quantity']));
    else e.push(...quantityErrors(it.quantity, [...f, 'quantity'], { allowZero: true }));
  } else {
    if (it.delta == null || it.quantity != null)
      e.push(userError(ErrorCode.INVALID_INPUT, 'mode ADJUST takes delta (and no quantity)', [...f, 'delta']));
    else e.push(...quantityErrors(it.delta, [...f, 'delta'], { allowZero: false, signed: true }));
  }
  e.push(...noteErrors(it.note, [...f, 'note']));
  e.push(...validatePrice(it.price, [...f, 'price']));
  e.push(...itemPolicyErrors(it, f));
  if (it.variantLabel != null) e.push(...validateText(it.variantLabel, [...f, 'variantLabel'], { max: LIMITS.name }));
}

interface VariantRow {
  id: string;
  sku: string;
  label: string;
  is_default: boolean;
  external_id: string | null;
}
interface WarehouseRow {
  id: string;
  code: string;
  read_only: boolean;
}

/** The variants and warehouses the items name, in two queries. */
async function lookUp(tx: Tx, storeId: string, items: BulkItem[]): Promise<{ variants: VariantRow[]; warehouses: WarehouseRow[] }> {
  const variantIds = new Set<string>();
  const skus = new Set<string>();
  const externalIds = new Set<string>();
  const warehouseIds = new Set<string>();
  const codes = new Set<string>();
  for (const it of items) {
    if (it.variantId != null) {
      const id = decodeId(it.variantId, 'Variant');
      if (id) variantIds.add(id);
    }
    if (it.sku != null) skus.add(it.sku);
    if (it.productExternalId != null) externalIds.add(it.productExternalId);
    if (it.warehouseId != null) {
      const id = decodeId(it.warehouseId, 'Warehouse');
      if (id) warehouseIds.add(id);
    }
    if (it.warehouseCode != null) codes.add(it.warehouseCode);
  }
  // Each key is looked up by its index (LATERAL subqueries with LIMIT / OFFSET are never merged
  // into a join that reads the store's variants: see findLevels).
  const variants = await tx.query<VariantRow>(
    `SELECT v.id, v.sku, v.label, v.is_default, v.external_id
       FROM (SELECT x.id FROM unnest($2::uuid[]) AS x(id)
             UNION SELECT s.id FROM unnest($3::text[]) AS k(sku), LATERAL (SELECT id FROM variants WHERE store_id = $1 AND sku = k.sku LIMIT 1) s
             UNION SELECT e.id FROM unnest($4::text[]) AS k(ext),
                   LATERAL (SELECT w.id FROM products q JOIN variants w ON w.store_id = q.store_id AND w.product_id = q.id
                             WHERE q.store_id = $1 AND q.external_id = k.ext OFFSET 0) e) ids,
            LATERAL (SELECT v.id, v.sku, v.label, v.is_default, p.external_id FROM variants v JOIN products p ON p.id = v.product_id AND p.store_id = v.store_id
                      WHERE v.store_id = $1 AND v.id = ids.id LIMIT 1) v`,
    [storeId, [...variantIds], [...skus], [...externalIds]],
  );
  const warehouses = await tx.query<WarehouseRow>(
    `SELECT id, code, read_only FROM warehouses WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR code = ANY($3::text[]))`,
    [storeId, [...warehouseIds], [...codes]],
  );
  return { variants, warehouses };
}

/** The variant of an item by id, sku, or product external id (+ label, or the default variant); undefined after an error in `e`. */
function variantOfItem(it: BulkItem, i: number, variants: VariantRow[], e: UserErrorShape[]): string | undefined {
  const f = ['input', 'items', i];
  if (it.variantId != null) return variants.find((v) => v.id === decodeId(it.variantId, 'Variant'))?.id;
  if (it.sku != null) return variants.find((v) => v.sku === it.sku)?.id;
  const ofProduct = variants.filter((v) => v.external_id === it.productExternalId);
  if (ofProduct.length === 0) {
    e.push(userError(ErrorCode.PRODUCT_NOT_FOUND, `Product "${it.productExternalId}" not found`, [...f, 'productExternalId']));
    return undefined;
  }
  const label = it.variantLabel?.toLowerCase();
  const matches =
    label != null
      ? ofProduct.filter((v) => v.label.toLowerCase() === label)
      : ofProduct.length === 1
        ? ofProduct
        : ofProduct.filter((v) => v.is_default);
  if (matches.length > 1) {
    e.push(
      userError(
        ErrorCode.VARIANT_LABEL_AMBIGUOUS,
        `Several variants of "${it.productExternalId}" match "${it.variantLabel ?? '(default)'}"`,
        [...f, 'variantLabel'],
      ),
    );
    return undefined;
  }
  return matches[0]?.id;
}

type Pair = { variantId: string; warehouseId: string };
const pairKey = (p: Pair) => `${p.variantId}|${p.warehouseId}`;

/** The (variant, warehouse) of each valid item; failures go to results[i].userErrors. */
async function itemPairs(tx: Tx, storeId: string, items: BulkItem[], results: BulkItemResult[]): Promise<Map<number, Pair>> {
  items.forEach((it, i) => itemErrors(it, i, results[i].userErrors));
  const { variants, warehouses } = await lookUp(tx, storeId, items);
  const vById = new Map(variants.map((v) => [v.id, v]));
  const vBySku = new Map(variants.map((v) => [v.sku, v]));
  const wById = new Map(warehouses.map((w) => [w.id, w]));
  const wByCode = new Map(warehouses.map((w) => [w.code, w]));
  const pairs = new Map<number, Pair>();
  items.forEach((it, i) => {
    const e = results[i].userErrors;
    if (e.length) return;
    const f = ['input', 'items', i];
    const variantId =
      it.variantId != null
        ? vById.get(decodeId(it.variantId, 'Variant') ?? '')?.id
        : it.sku != null
          ? vBySku.get(it.sku)?.id
          : variantOfItem(it, i, variants, e);
    if (e.length) return;
    if (!variantId)
      e.push(
        userError(ErrorCode.VARIANT_NOT_FOUND, 'Variant not found', [
          ...f,
          it.variantId != null ? 'variantId' : it.sku != null ? 'sku' : 'variantLabel',
        ]),
      );
    const w = it.warehouseId != null ? wById.get(decodeId(it.warehouseId, 'Warehouse') ?? '') : wByCode.get(it.warehouseCode!);
    if (!w)
      e.push(
        userError(ErrorCode.WAREHOUSE_NOT_FOUND, 'Warehouse not found', [...f, it.warehouseId != null ? 'warehouseId' : 'warehouseCode']),
      );
    else if (w.read_only) e.push(userError(ErrorCode.READONLY_WAREHOUSE, `Warehouse ${w.code} is read-only`, [...f, 'warehouseCode']));
    if (variantId && w && !w.read_only) pairs.set(i, { variantId, warehouseId: w.id });
  });
  return pairs;
}

/**
 * The level of each valid item: existing levels in one query; only SET items create a missing
 * level (in a fixed order), an ADJUST item needs an existing one, like inventoryAdjust.
 */
async function resolveBulk(
  tx: Tx,
  storeId: string,
  items: BulkItem[],
  results: BulkItemResult[],
  variantOf: Map<number, string>,
): Promise<Map<number, string>> {
  const pairs = await itemPairs(tx, storeId, items, results);
  const uniq = [...new Map([...pairs.values()].map((p) => [pairKey(p), p])).values()];
  const existing = await findLevels(tx, storeId, uniq);
  const levelOf = new Map(existing.map((l) => [`${l.variant_id}|${l.warehouse_id}`, l.id]));
  const toCreate = new Set([...pairs].filter(([i]) => modeOf(items[i]) === 'SET').map(([, p]) => pairKey(p)));
  const missing = uniq.filter((p) => !levelOf.has(pairKey(p)) && toCreate.has(pairKey(p)));
  for (const [k, id] of await ensureLevels(tx, storeId, missing)) levelOf.set(k, id);
  for (const [i, p] of [...pairs]) {
    if (levelOf.has(pairKey(p))) continue;
    results[i].userErrors.push(
      userError(ErrorCode.INVENTORY_NOT_FOUND, 'This variant has no inventory level in that warehouse (only mode SET creates one)', [
        'input',
        'items',
        i,
      ]),
    );
    pairs.delete(i);
  }
  const targets = new Map<number, string>();
  for (const [i, p] of pairs) {
    targets.set(i, levelOf.get(pairKey(p))!);
    variantOf.set(i, p.variantId);
  }
  return targets;
}

/** Sets the prices of the items that applied, in variant id order (last item of a variant wins). */
async function applyPrices(
  tx: Tx,
  storeId: string,
  items: BulkItem[],
  results: BulkItemResult[],
  variantOf: Map<number, string>,
): Promise<void> {
  const prices = new Map<string, Money>();
  items.forEach((it, i) => {
    if (it.price != null && !results[i].userErrors.length && variantOf.has(i)) prices.set(variantOf.get(i)!, it.price);
  });
  const pv = [...prices.keys()].sort();
  if (!pv.length) return;
  await tx.query(
    `UPDATE variants v SET price_amount = a.amount, price_currency = a.currency, updated_at = now()
       FROM unnest($2::uuid[], $3::numeric[], $4::text[]) AS a(id, amount, currency)
      WHERE v.id = a.id AND v.store_id = $1 AND (v.price_amount IS DISTINCT FROM a.amount OR v.price_currency IS DISTINCT FROM a.currency)`,
    [storeId, pv, pv.map((v) => prices.get(v)!.amount), pv.map((v) => prices.get(v)!.currencyCode)],
  );
}

/**
 * inventoryBulkUpdate, inside the transaction of stockOperation(). `strategy` 'set' (always, in the
 * API) applies every change in one statement (applyBulkChanges); 'rows' applies them one statement
 * each through applyLevelChange: the reference test/e2e/bulk-equivalence.test.ts compares it with.
 */
export async function bulkInTx(tx: Tx, auth: AuthInfo, input: BulkInput, strategy: 'set' | 'rows' = 'set'): Promise<BulkResult> {
  const items = input.items;
  if (items.length > LIMITS.bulkItems) {
    return {
      updatedCount: 0,
      failedCount: items.length,
      results: [],
      userErrors: [
        userError(ErrorCode.TOO_MANY_ITEMS, `At most ${LIMITS.bulkItems} items per request, got ${items.length}`, ['input', 'items']),
      ],
      rollback: true,
    };
  }
  if (items.length === 0) {
    return {
      updatedCount: 0,
      failedCount: 0,
      results: [],
      userErrors: [userError(ErrorCode.INVALID_INPUT, 'items must not be empty', ['input', 'items'])],
    };
  }
  const results: BulkItemResult[] = items.map((_, index) => ({ index, inventoryLevel: null, userErrors: [] }));
  const variantOf = new Map<number, string>();
  const targets = await resolveBulk(tx, auth.storeId, items, results, variantOf);

  // Apply in ascending level id (then input order): two overlapping bulks never deadlock.
  const order = [...targets.entries()].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] - b[0]));
  const changes = order.map(([index, levelId]) => changeOf(items[index], levelId, input));
  const applied = strategy === 'set' ? await applyBulkChanges(tx, auth.storeId, changes, auth.actor, input.idempotencyKey ?? null) : null;
  for (const [j, [index]] of order.entries()) {
    const c = levelChange(auth, changes[j], input);
    const field = ['input', 'items', index];
    const r = applied ? levelResult(applied[j], c, field) : await changeLevel(tx, c, field);
    results[index].inventoryLevel = r.inventoryLevel;
    results[index].userErrors = r.userErrors;
  }
  await applyPrices(tx, auth.storeId, items, results, variantOf);
  const done = order.map(([index, levelId]) => ({ index, levelId, variantId: variantOf.get(index)! }));
  await applyBulkPolicies(tx, auth, items, results, done, input.idempotencyKey);
  const failedCount = results.filter((r) => r.userErrors.length > 0).length;
  if (failedCount > 0 && (input.errorPolicy ?? 'REJECT_EVERYTHING') === 'REJECT_EVERYTHING') {
    for (const r of results) r.inventoryLevel = null;
    return {
      updatedCount: 0,
      failedCount,
      results,
      userErrors: [
        userError(ErrorCode.INVALID_INPUT, `${failedCount} item(s) failed; nothing was applied (errorPolicy REJECT_EVERYTHING)`, [
          'input',
          'items',
        ]),
      ],
      rollback: true,
    };
  }
  return { updatedCount: items.length - failedCount, failedCount, results, userErrors: [] };
}
