/**
 * Backorder and preorder policy (issue 22), pure: how far below zero a level's available may go.
 * Mirrors the SQL function inventory_backorder_allowance() (migration 20261201400000_backorder_policy),
 * which the writer statements use; test/unit/backorder-policy.test.ts checks the arithmetic.
 */
import { InventoryPolicy } from '../../generated/prisma/enums';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { INT32_MAX } from './availability';

export { InventoryPolicy };

/** Every policy, in schema order. */
export const INVENTORY_POLICIES: readonly InventoryPolicy[] = Object.values(InventoryPolicy);

/** The allowance that stands for "no limit" (CONTINUE without backorderLimit). */
export const UNBOUNDED_ALLOWANCE = INT32_MAX;

/** A policy and its limit, as stored on a variant or as a level's override (policy null: inherit). */
export interface PolicySetting {
  inventoryPolicy: InventoryPolicy | null;
  backorderLimit: number | null;
}

/** The effective policy of a level: its own override when it has one, else its variant's. */
export function effectivePolicy(level: PolicySetting, variant: PolicySetting): { policy: InventoryPolicy; limit: number | null } {
  if (level.inventoryPolicy != null) return { policy: level.inventoryPolicy, limit: level.backorderLimit };
  return { policy: variant.inventoryPolicy ?? 'DENY', limit: variant.backorderLimit };
}

/**
 * How many units below zero available may go: 0 under DENY; the limit under CONTINUE (no limit:
 * UNBOUNDED_ALLOWANCE); under PREORDER the incoming quantity, capped by the limit when one is set.
 */
export function backorderAllowance(policy: InventoryPolicy, limit: number | null, incoming: number): number {
  if (policy === 'CONTINUE') return limit ?? UNBOUNDED_ALLOWANCE;
  if (policy === 'PREORDER') return Math.min(Math.max(incoming, 0), limit ?? UNBOUNDED_ALLOWANCE);
  return 0;
}

/** Units sold or held below zero available: max(0, reserved + safetyStock − onHand). */
export function backorderedOf(onHand: number, reserved: number, safetyStock: number): number {
  return Math.max(0, reserved + safetyStock - onHand);
}

/**
 * Units sold or held beyond what stock and the allowance cover: max(0, reserved − onHand − allowance).
 * 0 whenever the writer's guards held; above 0 only after a change accepted it (preorders whose
 * incoming was withdrawn with allowUncoveredPreorders, or a policy tightened while backordered).
 * Safety stock does not count: it is held back from sale, not owed.
 */
export function uncoveredOf(onHand: number, reserved: number, allowance: number): number {
  return Math.max(0, reserved - onHand - allowance);
}

/** Whether one more unit can be sold: available (unclamped) is above −allowance. */
export function isSellable(onHand: number, reserved: number, safetyStock: number, allowance: number): boolean {
  return onHand - reserved - safetyStock > -allowance;
}

/** SQL: the effective policy (as text) of level row `l` whose variant row is `v`. */
export const policySql = (l: string, v: string) => `coalesce(${l}.inventory_policy, ${v}.inventory_policy)::text`;

/** SQL: the allowance of level row `l` with variant row `v` and incoming quantity `incoming`. */
export const allowanceSql = (l: string, v: string, incoming = `${l}.incoming`) =>
  `inventory_backorder_allowance(${policySql(l, v)}, CASE WHEN ${l}.inventory_policy IS NULL THEN ${v}.backorder_limit ELSE ${l}.backorder_limit END, ${incoming})`;

/**
 * The errors of a policy setting in an input: backorderLimit is a whole number ≥ 0 and comes with
 * a CONTINUE or PREORDER policy in the same input (the two are set together).
 */
export function policyErrors(
  policy: InventoryPolicy | null | undefined,
  limit: number | null | undefined,
  path: (string | number)[],
): UserErrorShape[] {
  if (limit == null) return [];
  const f = [...path, 'backorderLimit'];
  if (!Number.isInteger(limit)) return [userError(ErrorCode.INVALID_INPUT, 'backorderLimit must be an integer', f)];
  if (limit < 0) return [userError(ErrorCode.NEGATIVE_QUANTITY, 'backorderLimit must not be negative', f)];
  if (limit > INT32_MAX) return [userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `backorderLimit must be at most ${INT32_MAX}`, f)];
  if (policy == null)
    return [userError(ErrorCode.INVALID_INPUT, 'Give backorderLimit together with inventoryPolicy (CONTINUE or PREORDER)', f)];
  if (policy === 'DENY') return [userError(ErrorCode.INVALID_INPUT, 'backorderLimit applies only to CONTINUE and PREORDER', f)];
  return [];
}
