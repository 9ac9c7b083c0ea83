/**
 * Stock operations on levels: set, adjust, move, settings and bulk. Each runs in one transaction,
 * optionally under an idempotency key, and changes counters only through the stock writer.
 */
import type { App } from '../../app';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import { LIMITS, validateText } from '../../validation';
import type { AuthInfo } from '../auth/scopes';
import { validatePrice, type Money } from '../catalog/catalog.service';
import {
  applyLevelChange,
  ensureLevel,
  INT32_MAX,
  lockLevels,
  resolveLevel,
  stockOperation,
  type ChangeResult,
  type LevelAddress,
  type LevelChange,
  type LevelRow,
  type MovementReason,
  type OpResult,
} from '../stock';

export interface LevelResult extends OpResult {
  inventoryLevel: LevelRow | null;
  movementId?: number | null;
}

export interface SetInput extends LevelAddress {
  quantity: number;
  compareQuantity?: number | null;
  reason?: MovementReason | null;
  note?: string | null;
  idempotencyKey?: string | null;
}

export interface AdjustInput extends LevelAddress {
  delta: number;
  reason: MovementReason;
  note?: string | null;
  idempotencyKey?: string | null;
}

export interface MoveInput {
  variantId?: string | null;
  sku?: string | null;
  fromWarehouseId?: string | null;
  fromWarehouseCode?: string | null;
  toWarehouseId?: string | null;
  toWarehouseCode?: string | null;
  quantity: number;
  note?: string | null;
  idempotencyKey?: string | null;
}

export interface LevelUpdateInput extends LevelAddress {
  lowStockThreshold?: number | null;
  criticalThreshold?: number | null;
  safetyStock?: number | null;
  incoming?: number | null;
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
const modeOf = (it: BulkItem): BulkMode => it.mode ?? 'ADJUST';

const fail = (...userErrors: UserErrorShape[]): LevelResult => ({ inventoryLevel: null, userErrors, rollback: true });

function quantityErrors(n: number, field: (string | number)[], opts: { allowZero: boolean; signed?: boolean }): UserErrorShape[] {
  if (!Number.isInteger(n)) return [userError(ErrorCode.INVALID_INPUT, `${field[field.length - 1]} must be an integer`, field)];
  if (opts.signed) {
    if (n === 0) return [userError(ErrorCode.INVALID_INPUT, 'delta must not be 0', field)];
    if (Math.abs(n) > INT32_MAX) return [userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `delta must be within ±${INT32_MAX}`, field)];
    return [];
  }
  if (n < 0) return [userError(ErrorCode.NEGATIVE_QUANTITY, `${field[field.length - 1]} must not be negative`, field)];
  if (n === 0 && !opts.allowZero) return [userError(ErrorCode.NEGATIVE_QUANTITY, `${field[field.length - 1]} must be greater than 0`, field)];
  if (n > INT32_MAX) return [userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `${field[field.length - 1]} must be at most ${INT32_MAX}`, field)];
  return [];
}

function noteErrors(note: string | null | undefined, field: (string | number)[]): UserErrorShape[] {
  return note != null ? validateText(note, field, { max: LIMITS.note, allowEmpty: true }) : [];
}

/** Maps a writer failure to the user error a client sees. */
export function failureError(r: ChangeResult, c: Pick<LevelChange, 'mode' | 'onHandDelta' | 'setOnHand' | 'compareOnHand'>, field: (string | number)[]): UserErrorShape {
  const cur = r.before;
  const available = Math.max(0, cur.onHand - cur.reserved - cur.safetyStock);
  switch (r.failure) {
    case 'STALE':
      return userError(ErrorCode.COMPARE_QUANTITY_STALE, `onHand is ${cur.onHand}, not ${c.compareOnHand}; re-read and retry`, [...field, 'compareQuantity']);
    case 'OUT_OF_RANGE':
      return userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `The result would be outside 0..${INT32_MAX}. Current onHand: ${cur.onHand}`, field);
    case 'BELOW_RESERVED':
      return userError(ErrorCode.QUANTITY_BELOW_RESERVED, `Quantity ${c.setOnHand} is below the reserved quantity ${cur.reserved}`, [...field, 'quantity']);
    case 'RESERVED_NEGATIVE':
      return userError(ErrorCode.EXCEEDS_RESERVED, `Only ${cur.reserved} units are reserved`, field);
    default:
      return c.mode === 'delta' && c.onHandDelta
        ? userError(
            ErrorCode.INSUFFICIENT_STOCK,
            `Adjustment would result in negative available quantity. Current: ${cur.onHand} on hand, ${available} available, adjustment: ${c.onHandDelta}`,
            field,
          )
        : userError(ErrorCode.INSUFFICIENT_STOCK, `Insufficient stock: ${available} available`, field);
  }
}

export class InventoryService {
  constructor(private readonly app: App) {}

  /** Resolves a writable level; read-only warehouses are refused. */
  private async writable(tx: Tx, auth: AuthInfo, a: LevelAddress, create: boolean, path: (string | number)[] = ['input']) {
    const r = await resolveLevel(tx, auth.storeId, a, { create, path });
    if ('errors' in r) return r;
    if (r.level.readOnly) return { errors: [userError(ErrorCode.READONLY_WAREHOUSE, 'This warehouse is read-only; its stock is managed externally', path)] };
    return { levelId: r.level.levelId! };
  }

  private async change(tx: Tx, c: LevelChange, field: (string | number)[] = ['input']): Promise<LevelResult> {
    const r = await applyLevelChange(tx, c);
    if (!r) return fail(userError(ErrorCode.INVENTORY_NOT_FOUND, 'Inventory level not found', field));
    if (r.failure) return fail(failureError(r, c, field));
    return { inventoryLevel: r.level, movementId: r.movementId, userErrors: [] };
  }

  set(auth: AuthInfo, input: SetInput): Promise<LevelResult> {
    return stockOperation<LevelResult>(this.app, auth, 'inventorySet', input, { inventoryLevel: null }, async (tx) => {
      const errors = [
        ...quantityErrors(input.quantity, ['input', 'quantity'], { allowZero: true }),
        ...(input.compareQuantity != null ? quantityErrors(input.compareQuantity, ['input', 'compareQuantity'], { allowZero: true }) : []),
        ...noteErrors(input.note, ['input', 'note']),
      ];
      if (errors.length) return fail(...errors);
      const lv = await this.writable(tx, auth, input, true);
      if ('errors' in lv) return fail(...lv.errors);
      return this.change(tx, {
        storeId: auth.storeId,
        levelId: lv.levelId,
        mode: 'set',
        setOnHand: input.quantity,
        compareOnHand: input.compareQuantity,
        reason: input.reason ?? 'CORRECTION',
        note: input.note,
        actor: auth.actor,
        idempotencyKey: input.idempotencyKey,
      });
    });
  }

  adjust(auth: AuthInfo, input: AdjustInput): Promise<LevelResult> {
    return stockOperation<LevelResult>(this.app, auth, 'inventoryAdjust', input, { inventoryLevel: null }, async (tx) => {
      const errors = [...quantityErrors(input.delta, ['input', 'delta'], { allowZero: false, signed: true }), ...noteErrors(input.note, ['input', 'note'])];
      if (errors.length) return fail(...errors);
      // Only an absolute quantity (inventorySet, bulk SET) creates a level: a delta needs one.
      const lv = await this.writable(tx, auth, input, false);
      if ('errors' in lv) return fail(...lv.errors);
      return this.change(tx, {
        storeId: auth.storeId,
        levelId: lv.levelId,
        mode: 'delta',
        onHandDelta: input.delta,
        requireAvailable: input.delta < 0,
        reason: input.reason,
        note: input.note,
        actor: auth.actor,
        idempotencyKey: input.idempotencyKey,
      });
    });
  }

  move(auth: AuthInfo, input: MoveInput): Promise<LevelResult & { source: LevelRow | null; destination: LevelRow | null }> {
    type R = LevelResult & { source: LevelRow | null; destination: LevelRow | null };
    const failMove = (...e: UserErrorShape[]): R => ({ ...fail(...e), source: null, destination: null });
    return stockOperation<R>(this.app, auth, 'inventoryMove', input, { inventoryLevel: null, source: null, destination: null }, async (tx) => {
      const errors = [...quantityErrors(input.quantity, ['input', 'quantity'], { allowZero: false }), ...noteErrors(input.note, ['input', 'note'])];
      if (errors.length) return failMove(...errors);
      const v = { variantId: input.variantId, sku: input.sku };
      const from = await this.writable(tx, auth, { ...v, warehouseId: input.fromWarehouseId, warehouseCode: input.fromWarehouseCode }, false, ['input', 'from']);
      if ('errors' in from) return failMove(...from.errors);
      const to = await this.writable(tx, auth, { ...v, warehouseId: input.toWarehouseId, warehouseCode: input.toWarehouseCode }, false, ['input', 'to']);
      if ('errors' in to) return failMove(...to.errors);
      if (from.levelId === to.levelId) return failMove(userError(ErrorCode.SAME_WAREHOUSE, 'Source and destination warehouses must differ', ['input', 'toWarehouseCode']));
      const base = { storeId: auth.storeId, mode: 'delta' as const, note: input.note, actor: auth.actor, idempotencyKey: input.idempotencyKey };
      const out: LevelChange = { ...base, levelId: from.levelId, onHandDelta: -input.quantity, requireAvailable: true, reason: 'TRANSFER_OUT' };
      const inn: LevelChange = { ...base, levelId: to.levelId, onHandDelta: input.quantity, reason: 'TRANSFER_IN' };
      // Both rows are locked in ascending id order first (no deadlock with any other writer); then
      // the source is changed before the destination, so the answer follows one fixed order of
      // checks whatever the ids: the source's stock (INSUFFICIENT_STOCK), then the destination's
      // range (QUANTITY_OUT_OF_RANGE).
      await lockLevels(tx, auth.storeId, [from.levelId, to.levelId]);
      const results: Record<string, LevelRow> = {};
      for (const c of [out, inn]) {
        const r = await this.change(tx, c, ['input', c === out ? 'from' : 'to']);
        if (r.userErrors.length) return { ...r, source: null, destination: null };
        results[c.levelId] = r.inventoryLevel!;
      }
      return { inventoryLevel: results[from.levelId], source: results[from.levelId], destination: results[to.levelId], userErrors: [] };
    });
  }

  updateLevel(auth: AuthInfo, input: LevelUpdateInput): Promise<LevelResult> {
    return stockOperation<LevelResult>(this.app, auth, 'inventoryLevelUpdate', {}, { inventoryLevel: null }, async (tx) => {
      const errors: UserErrorShape[] = [];
      for (const k of ['lowStockThreshold', 'criticalThreshold', 'safetyStock', 'incoming'] as const) {
        const v = input[k];
        if (v != null) errors.push(...quantityErrors(v, ['input', k], { allowZero: true }));
      }
      if (errors.length) return fail(...errors);
      const r = await resolveLevel(tx, auth.storeId, input, { create: false, path: ['input'] });
      if ('errors' in r) return fail(...r.errors);
      if (!r.level.levelId) return fail(userError(ErrorCode.INVENTORY_NOT_FOUND, 'This variant has no inventory level in that warehouse', ['input']));
      if (r.level.readOnly) {
        // A read-only (marketplace-fulfilled) level's stock is managed by the marketplace: only its
        // alert thresholds are ours to set. safetyStock and incoming change what is available here.
        const refused = (['safetyStock', 'incoming'] as const).filter((k) => input[k] != null);
        if (refused.length) {
          return fail(
            ...refused.map((k) =>
              userError(ErrorCode.READONLY_WAREHOUSE, `This warehouse is read-only: only lowStockThreshold and criticalThreshold can be changed, not ${k}`, ['input', k]),
            ),
          );
        }
      }
      return this.change(tx, {
        storeId: auth.storeId,
        levelId: r.level.levelId,
        mode: 'delta',
        onHandDelta: 0,
        reason: 'OTHER',
        actor: auth.actor,
        lowStockThreshold: input.lowStockThreshold,
        criticalThreshold: input.criticalThreshold,
        safetyStock: input.safetyStock,
        incoming: input.incoming,
      });
    });
  }

  bulkUpdate(auth: AuthInfo, input: BulkInput): Promise<BulkResult> {
    return stockOperation<BulkResult>(this.app, auth, 'inventoryBulkUpdate', input, { updatedCount: 0, failedCount: 0, results: [] }, async (tx) => {
      const items = input.items;
      const policy = input.errorPolicy ?? 'REJECT_EVERYTHING';
      if (items.length > LIMITS.bulkItems) {
        return {
          updatedCount: 0,
          failedCount: items.length,
          results: [],
          userErrors: [userError(ErrorCode.TOO_MANY_ITEMS, `At most ${LIMITS.bulkItems} items per request, got ${items.length}`, ['input', 'items'])],
          rollback: true,
        };
      }
      if (items.length === 0) {
        return { updatedCount: 0, failedCount: 0, results: [], userErrors: [userError(ErrorCode.INVALID_INPUT, 'items must not be empty', ['input', 'items'])] };
      }
      const results: BulkItemResult[] = items.map((_, index) => ({ index, inventoryLevel: null, userErrors: [] }));
      const variantOf = new Map<number, string>();
      const targets = await this.resolveBulk(tx, auth.storeId, items, results, variantOf);

      // Apply in ascending level id (then input order): two overlapping bulks never deadlock.
      const order = [...targets.entries()].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] - b[0]));
      for (const [index, levelId] of order) {
        const it = items[index];
        const field = ['input', 'items', index];
        const c: LevelChange =
          modeOf(it) === 'SET'
            ? { storeId: auth.storeId, levelId, mode: 'set', setOnHand: it.quantity!, reason: it.reason ?? input.reason ?? 'CYCLE_COUNT' }
            : { storeId: auth.storeId, levelId, mode: 'delta', onHandDelta: it.delta!, requireAvailable: it.delta! < 0, reason: it.reason ?? input.reason ?? 'CORRECTION' };
        Object.assign(c, { note: it.note, actor: auth.actor, idempotencyKey: input.idempotencyKey });
        const r = await this.change(tx, c, field);
        results[index].inventoryLevel = r.inventoryLevel;
        results[index].userErrors = r.userErrors;
      }
      // Prices of the items that applied, in variant id order (last item of a variant wins).
      const prices = new Map<string, Money>();
      items.forEach((it, i) => {
        if (it.price != null && !results[i].userErrors.length && variantOf.has(i)) prices.set(variantOf.get(i)!, it.price);
      });
      const pv = [...prices.keys()].sort();
      if (pv.length) {
        await tx.query(
          `UPDATE variants v SET price_amount = a.amount, price_currency = a.currency, updated_at = now()
             FROM unnest($2::uuid[], $3::numeric[], $4::text[]) AS a(id, amount, currency)
            WHERE v.id = a.id AND v.store_id = $1 AND (v.price_amount IS DISTINCT FROM a.amount OR v.price_currency IS DISTINCT FROM a.currency)`,
          [auth.storeId, pv, pv.map((v) => prices.get(v)!.amount), pv.map((v) => prices.get(v)!.currencyCode)],
        );
      }
      const failedCount = results.filter((r) => r.userErrors.length > 0).length;
      if (failedCount > 0 && policy === 'REJECT_EVERYTHING') {
        for (const r of results) r.inventoryLevel = null;
        return {
          updatedCount: 0,
          failedCount,
          results,
          userErrors: [userError(ErrorCode.INVALID_INPUT, `${failedCount} item(s) failed; nothing was applied (errorPolicy REJECT_EVERYTHING)`, ['input', 'items'])],
          rollback: true,
        };
      }
      return { updatedCount: items.length - failedCount, failedCount, results, userErrors: [] };
    });
  }

  /** Validates and resolves every bulk item to a level id; failures go to results[i].userErrors. */
  private async resolveBulk(tx: Tx, storeId: string, items: BulkItem[], results: BulkItemResult[], variantOf: Map<number, string>): Promise<Map<number, string>> {
    const variantIds = new Set<string>();
    const skus = new Set<string>();
    const externalIds = new Set<string>();
    const warehouseIds = new Set<string>();
    const codes = new Set<string>();
    items.forEach((it, i) => {
      const f = ['input', 'items', i];
      const e = results[i].userErrors;
      const ways = [it.sku != null, it.variantId != null, it.productExternalId != null].filter(Boolean).length;
      if (ways !== 1) e.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of sku, variantId or productExternalId (+ variantLabel)', f));
      if ((it.warehouseId == null) === (it.warehouseCode == null)) e.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of warehouseId or warehouseCode', [...f, 'warehouseCode']));
      if (modeOf(it) === 'SET') {
        if (it.quantity == null || it.delta != null) e.push(userError(ErrorCode.INVALID_INPUT, 'mode SET takes quantity (and no delta)', [...f, 'quantity']));
        else e.push(...quantityErrors(it.quantity, [...f, 'quantity'], { allowZero: true }));
      } else {
        if (it.delta == null || it.quantity != null) e.push(userError(ErrorCode.INVALID_INPUT, 'mode ADJUST takes delta (and no quantity)', [...f, 'delta']));
        else e.push(...quantityErrors(it.delta, [...f, 'delta'], { allowZero: false, signed: true }));
      }
      e.push(...noteErrors(it.note, [...f, 'note']));
      e.push(...validatePrice(it.price, [...f, 'price']));
      if (it.variantLabel != null) e.push(...validateText(it.variantLabel, [...f, 'variantLabel'], { max: LIMITS.name }));
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
    });

    const variants = await tx.query<{ id: string; sku: string; label: string; is_default: boolean; external_id: string | null }>(
      `SELECT v.id, v.sku, v.label, v.is_default, p.external_id FROM variants v JOIN products p ON p.id = v.product_id
        WHERE v.store_id = $1 AND (v.id = ANY($2::uuid[]) OR v.sku = ANY($3::text[]) OR p.external_id = ANY($4::text[]))`,
      [storeId, [...variantIds], [...skus], [...externalIds]],
    );
    const warehouses = await tx.query<{ id: string; code: string; read_only: boolean }>(
      `SELECT id, code, read_only FROM warehouses WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR code = ANY($3::text[]))`,
      [storeId, [...warehouseIds], [...codes]],
    );
    const vById = new Map(variants.map((v) => [v.id, v]));
    const vBySku = new Map(variants.map((v) => [v.sku, v]));
    const wById = new Map(warehouses.map((w) => [w.id, w]));
    const wByCode = new Map(warehouses.map((w) => [w.code, w]));

    const pairs = new Map<number, { variantId: string; warehouseId: string }>();
    items.forEach((it, i) => {
      const e = results[i].userErrors;
      if (e.length) return;
      const f = ['input', 'items', i];
      let variantId: string | undefined;
      if (it.variantId != null) variantId = vById.get(decodeId(it.variantId, 'Variant') ?? '')?.id;
      else if (it.sku != null) variantId = vBySku.get(it.sku)?.id;
      else {
        const ofProduct = variants.filter((v) => v.external_id === it.productExternalId);
        if (ofProduct.length === 0) {
          e.push(userError(ErrorCode.PRODUCT_NOT_FOUND, `Product "${it.productExternalId}" not found`, [...f, 'productExternalId']));
          return;
        }
        const label = it.variantLabel?.toLowerCase();
        const matches = label != null ? ofProduct.filter((v) => v.label.toLowerCase() === label) : ofProduct.length === 1 ? ofProduct : ofProduct.filter((v) => v.is_default);
        if (matches.length > 1) {
          e.push(userError(ErrorCode.VARIANT_LABEL_AMBIGUOUS, `Several variants of "${it.productExternalId}" match "${it.variantLabel ?? '(default)'}"`, [...f, 'variantLabel']));
          return;
        }
        variantId = matches[0]?.id;
      }
      if (!variantId) e.push(userError(ErrorCode.VARIANT_NOT_FOUND, 'Variant not found', [...f, it.variantId != null ? 'variantId' : it.sku != null ? 'sku' : 'variantLabel']));
      const w = it.warehouseId != null ? wById.get(decodeId(it.warehouseId, 'Warehouse') ?? '') : wByCode.get(it.warehouseCode!);
      if (!w) e.push(userError(ErrorCode.WAREHOUSE_NOT_FOUND, 'Warehouse not found', [...f, it.warehouseId != null ? 'warehouseId' : 'warehouseCode']));
      else if (w.read_only) e.push(userError(ErrorCode.READONLY_WAREHOUSE, `Warehouse ${w.code} is read-only`, [...f, 'warehouseCode']));
      if (variantId && w && !w.read_only) pairs.set(i, { variantId, warehouseId: w.id });
    });

    // Existing levels in one query. Only SET items create a missing level (in a fixed order); an
    // ADJUST item needs an existing one, like inventoryAdjust.
    const uniq = [...new Map([...pairs.values()].map((p) => [`${p.variantId}|${p.warehouseId}`, p])).values()];
    const existing = await tx.query<{ id: string; variant_id: string; warehouse_id: string }>(
      `SELECT l.id, l.variant_id, l.warehouse_id FROM inventory_levels l
         JOIN unnest($2::uuid[], $3::uuid[]) AS k(v, w) ON l.variant_id = k.v AND l.warehouse_id = k.w
        WHERE l.store_id = $1`,
      [storeId, uniq.map((p) => p.variantId), uniq.map((p) => p.warehouseId)],
    );
    const levelOf = new Map(existing.map((l) => [`${l.variant_id}|${l.warehouse_id}`, l.id]));
    const toCreate = new Set([...pairs].filter(([i]) => modeOf(items[i]) === 'SET').map(([, p]) => `${p.variantId}|${p.warehouseId}`));
    const missing = uniq
      .filter((p) => !levelOf.has(`${p.variantId}|${p.warehouseId}`) && toCreate.has(`${p.variantId}|${p.warehouseId}`))
      .sort((a, b) => (a.variantId + a.warehouseId < b.variantId + b.warehouseId ? -1 : 1));
    for (const p of missing) levelOf.set(`${p.variantId}|${p.warehouseId}`, await ensureLevel(tx, storeId, p.variantId, p.warehouseId));
    for (const [i, p] of [...pairs]) {
      if (levelOf.has(`${p.variantId}|${p.warehouseId}`)) continue;
      results[i].userErrors.push(userError(ErrorCode.INVENTORY_NOT_FOUND, 'This variant has no inventory level in that warehouse (only mode SET creates one)', ['input', 'items', i]));
      pairs.delete(i);
    }
    const targets = new Map<number, string>();
    for (const [i, p] of pairs) {
      targets.set(i, levelOf.get(`${p.variantId}|${p.warehouseId}`)!);
      variantOf.set(i, p.variantId);
    }
    return targets;
  }
}
