/**
 * Backorder policies set with bulk items (the CSV import's policy columns, issue 22): the variant's
 * policy and limit, and the level's override. Applied after the items' stock changes, like prices,
 * and only for items that applied: the variant's in one statement (variant id order, the last item
 * of a variant wins), a level's override through the stock writer (one settings change per item, in
 * level id order), so it has its ledger row and event like inventoryLevelUpdate.
 */
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import type { AuthInfo } from '../../graphql/scopes';
import { applyLevelChange, policyErrors, type InventoryPolicy, type LevelChange, type LevelRow } from '../stock';
import { levelResult } from './inventory.rules';

/** A variant's policy as a bulk item sets it (backorderLimit null: no limit). */
export interface VariantPolicyInput {
  inventoryPolicy: InventoryPolicy;
  backorderLimit: number | null;
}

/** A level's override as a bulk item sets it: a policy (with its limit), or INHERIT to drop it. */
export interface LevelPolicyInput {
  inventoryPolicy: InventoryPolicy | 'INHERIT';
  backorderLimit: number | null;
}

interface PolicyItem {
  variantPolicy?: VariantPolicyInput | null;
  levelPolicy?: LevelPolicyInput | null;
}

/** The errors of an item's policy settings (as variantUpdate and inventoryLevelUpdate answer them). */
export function itemPolicyErrors(it: PolicyItem, f: (string | number)[]): UserErrorShape[] {
  const e: UserErrorShape[] = [];
  if (it.variantPolicy) e.push(...policyErrors(it.variantPolicy.inventoryPolicy, it.variantPolicy.backorderLimit, [...f, 'variantPolicy']));
  const l = it.levelPolicy;
  if (l && l.inventoryPolicy === 'INHERIT' && l.backorderLimit != null)
    e.push(userError(ErrorCode.INVALID_INPUT, 'INHERIT takes no backorderLimit', [...f, 'levelPolicy', 'backorderLimit']));
  else if (l && l.inventoryPolicy !== 'INHERIT') e.push(...policyErrors(l.inventoryPolicy, l.backorderLimit, [...f, 'levelPolicy']));
  return e;
}

interface Applied {
  index: number;
  levelId: string;
  variantId: string;
}

/**
 * Sets the policies of the items that applied (results[i] without errors). A level change that
 * fails (it cannot, short of a level that vanished) becomes that item's error.
 */
export async function applyBulkPolicies(
  tx: Tx,
  auth: AuthInfo,
  items: PolicyItem[],
  results: { inventoryLevel: LevelRow | null; userErrors: UserErrorShape[] }[],
  applied: Applied[],
  idempotencyKey: string | null | undefined,
): Promise<void> {
  const ok = applied.filter((a) => results[a.index].userErrors.length === 0);
  const variants = new Map<string, VariantPolicyInput>();
  for (const a of [...ok].sort((x, y) => x.index - y.index)) {
    const p = items[a.index].variantPolicy;
    if (p) variants.set(a.variantId, p);
  }
  const ids = [...variants.keys()].sort();
  if (ids.length) {
    await tx.query(
      `UPDATE variants v SET inventory_policy = a.policy::"InventoryPolicy", backorder_limit = a.lim, updated_at = now()
         FROM unnest($2::uuid[], $3::text[], $4::int[]) AS a(id, policy, lim)
        WHERE v.id = a.id AND v.store_id = $1 AND (v.inventory_policy::text <> a.policy OR v.backorder_limit IS DISTINCT FROM a.lim)`,
      [auth.storeId, ids, ids.map((v) => variants.get(v)!.inventoryPolicy), ids.map((v) => variants.get(v)!.backorderLimit)],
    );
  }
  const levels = ok.filter((a) => items[a.index].levelPolicy).sort((x, y) => (x.levelId < y.levelId ? -1 : x.levelId > y.levelId ? 1 : 0));
  for (const a of levels) {
    const p = items[a.index].levelPolicy!;
    const c: LevelChange = {
      storeId: auth.storeId,
      levelId: a.levelId,
      mode: 'delta',
      onHandDelta: 0,
      reason: 'OTHER',
      actor: auth.actor,
      idempotencyKey,
      inventoryPolicy: p.inventoryPolicy,
      backorderLimit: p.backorderLimit,
    };
    const r = levelResult(await applyLevelChange(tx, c), c, ['input', 'items', a.index, 'levelPolicy']);
    results[a.index].userErrors = r.userErrors;
    if (r.inventoryLevel) results[a.index].inventoryLevel = r.inventoryLevel;
  }
}
