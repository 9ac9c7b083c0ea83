/** The stock core's shared types: a level as stored, a change to it, and the outcome. */
import type { MovementReason } from './reasons';

export interface LevelChange {
  storeId: string;
  levelId: string;
  /** 'delta': onHand += onHandDelta; 'set': onHand = setOnHand; 'touch': only expire due lines. */
  mode: 'delta' | 'set' | 'touch';
  onHandDelta?: number;
  setOnHand?: number;
  /** compare-and-set: fail with STALE unless onHand equals this. */
  compareOnHand?: number | null;
  reservedDelta?: number;
  /** Reject the change if available (onHand − reserved − safetyStock) would be negative afterwards. */
  requireAvailable?: boolean;
  /** Settings changed in the same statement (inventoryLevelUpdate). */
  safetyStock?: number | null;
  incoming?: number | null;
  lowStockThreshold?: number | null;
  criticalThreshold?: number | null;
  reason: MovementReason;
  note?: string | null;
  actor?: string | null;
  idempotencyKey?: string | null;
  reservationId?: string | null;
}

export type ChangeFailure = 'STALE' | 'OUT_OF_RANGE' | 'RESERVED_NEGATIVE' | 'BELOW_RESERVED' | 'INSUFFICIENT';

/** A level row as stored (counters after the statement). */
export interface LevelRow {
  id: string;
  storeId: string;
  variantId: string;
  warehouseId: string;
  onHand: number;
  reserved: number;
  incoming: number;
  safetyStock: number;
  lowStockThreshold: number;
  criticalThreshold: number;
  version: number;
  updatedAt: string;
}

export interface ChangeResult {
  failure: ChangeFailure | null;
  /** Counters before the change (after lazy expiry). */
  before: { onHand: number; reserved: number; safetyStock: number };
  level: LevelRow;
  movementId: number | null;
  expiredQuantity: number;
}
