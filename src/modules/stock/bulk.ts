/**
 * Many SET / ADJUST changes in one statement (BULK_SQL, bulk-statement.ts): what the bulk update and
 * the CSV import apply. Each change gets exactly the result applyLevelChange() would have given it,
 * applied one after the other in the order given.
 */
import { onCommit, type Tx } from '../../db/tx';
import { observeStockChange } from '../../observability/metrics';
import { BULK_SQL } from './bulk-statement';
import type { MovementReason } from './reasons';
import type { ChangeResult } from './types';
import { changeResult, type Row } from './writer';

/** One change of a bulk: onHand = value ('set') or onHand += value ('delta'; a negative one must keep available ≥ 0). */
export interface BulkChange {
  levelId: string;
  mode: 'set' | 'delta';
  value: number;
  reason: MovementReason;
  note?: string | null;
}

/**
 * Applies `changes` of one store, in the order given, which must be ascending level id (then input
 * order) as every writer of several levels locks them. Returns, per change, its result, or null when
 * its level does not exist in the store.
 */
export async function applyBulkChanges(
  tx: Tx,
  storeId: string,
  changes: readonly BulkChange[],
  actor: string | null,
  idempotencyKey: string | null,
): Promise<(ChangeResult | null)[]> {
  if (changes.length === 0) return [];
  const rows = await tx.query<Row & { pos: string }>(BULK_SQL, [
    storeId,
    changes.map((c) => c.levelId),
    changes.map((c) => c.mode),
    changes.map((c) => c.value),
    changes.map((c) => c.reason),
    changes.map((c) => c.note ?? null),
    actor,
    idempotencyKey,
  ]);
  const out: (ChangeResult | null)[] = changes.map(() => null);
  for (const r of rows) out[Number(r.pos) - 1] = changeResult(r);
  onCommit(tx, () => {
    for (const [i, r] of out.entries()) {
      if (r && (r.movementId !== null || r.expiredQuantity > 0))
        observeStockChange(changes[i].reason, r.movementId !== null, r.expiredQuantity);
    }
  });
  return out;
}
