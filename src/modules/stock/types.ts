/** The stock core's shared types: a level as stored, a change to it, and the outcome. */
import type { InventoryPolicy } from './policy';
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
  /** Reject the change if available (onHand − reserved − safetyStock) would be below −allowance afterwards. */
  requireAvailable?: boolean;
  /** false: the level's backorder policy does not apply to this change (allowance 0, as DENY). Default true. */
  allowBackorder?: boolean;
  /** Settings changed in the same statement (inventoryLevelUpdate). */
  safetyStock?: number | null;
  /**
   * Recompute incoming from the level's inbound and transfer lines (INCOMING_OF) in this statement:
   * set when the caller changed them (after locking the level in an earlier statement).
   */
  recomputeIncoming?: boolean;
  lowStockThreshold?: number | null;
  criticalThreshold?: number | null;
  /** The level's policy override, set in the same statement: a policy (with backorderLimit, null = no limit) or 'INHERIT' (clear it). */
  inventoryPolicy?: InventoryPolicy | 'INHERIT' | null;
  backorderLimit?: number | null;
  reason: MovementReason;
  note?: string | null;
  actor?: string | null;
  idempotencyKey?: string | null;
  reservationId?: string | null;
  /**
   * Accept a change that lowers incoming although preorders sold against it then lose their cover
   * (units beyond the allowance rise): recorded on the movement (`uncovered_after`). Default false: such
   * a change fails with PREORDERS_UNCOVERED and writes nothing.
   */
  allowUncoveredPreorders?: boolean;
  /** The inbound shipment or transfer the movement names. */
  inboundShipmentId?: string | null;
  transferId?: string | null;
  /** A further event of this change (written only when the change is applied). */
  event?: { topic: StockEventTopic; payload: Record<string, unknown> } | null;
}

/** The topics of the events of inbound shipments and transfers (beside INVENTORY_UPDATED). */
export type StockEventTopic = 'INBOUND_RECEIVED' | 'TRANSFER_SHIPPED' | 'TRANSFER_RECEIVED';

/**
 * BACKORDER_LIMIT: as INSUFFICIENT, under a CONTINUE or PREORDER policy (its allowance is used up).
 * PREORDERS_UNCOVERED: the change lowers incoming and more units would be sold or held beyond the
 * allowance than before (preorders losing their inbound cover), without allowUncoveredPreorders.
 */
export type ChangeFailure =
  'STALE' | 'OUT_OF_RANGE' | 'RESERVED_NEGATIVE' | 'BELOW_RESERVED' | 'INSUFFICIENT' | 'BACKORDER_LIMIT' | 'PREORDERS_UNCOVERED';

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
  /** The level's own policy override (null: the variant's policy applies). */
  inventoryPolicy: InventoryPolicy | null;
  backorderLimit: number | null;
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
  /** How far below zero available may go under the level's effective policy (the guard's figure). */
  allowance: number;
  /** Units sold or held beyond the allowance (reserved − onHand − allowance, ≥ 0) before and after the change as asked. */
  uncovered: { before: number; after: number };
  /** The incoming the change asked for (recomputed from the lines, or unchanged). */
  incomingRequested: number;
}
