/**
 * The stock core: the one public entry of src/modules/stock/. Feature modules (inventory,
 * reservations, csv, the sweeper, reads) import from here, never from a file inside.
 *
 *  - the writer: applyLevelChange(), reserveLines(), applyBulkChanges() and adjustLevels(), the only
 *    code that changes stock counters;
 *  - the level types (LevelRow, LevelChange, ChangeResult) and movement reasons;
 *  - availability arithmetic (availableOf, stockStatus) and level addressing (resolveLevel…);
 *  - idempotency (runStockOperation, stockOperation, purgeExpiredKeys);
 *  - reservation rows (the mapping the reads and the batched statement share).
 */
export { MOVEMENT_REASONS, MovementReason } from './reasons';
export type { ChangeFailure, ChangeResult, LevelChange, LevelRow, StockEventTopic } from './types';
export { INCOMING_OF, levelIncoming } from './incoming-sql';
export {
  cancelInboundLine,
  receiveInboundLine,
  setInboundLine,
  setManualIncoming,
  type InboundChangeBase,
  type InboundOutcome,
  type LineRefusal,
} from './inbound';
export {
  insertTransferLines,
  receiveTransferLine,
  shipFromSource,
  shipToDestination,
  writeOffTransferLine,
  type TransferLineShip,
} from './transfer';
export { applyLevelChange, reservedResult, reserveLines, type ReservedLine, type ReserveLineRequest } from './writer';
export { LEVEL_WRITES, LEVEL_WRITTEN_COLUMNS } from './sql-parts';
export { WRITER_STATEMENTS } from './statements';
export { applyBulkChanges, type BulkChange } from './bulk';
export { adjustLevels, type AdjustRequest } from './adjust-batch';
export { batcherFor, runBatchStatement, type BatchKind } from './batch-runner';
export {
  allowanceSql,
  backorderAllowance,
  backorderedOf,
  effectivePolicy,
  INVENTORY_POLICIES,
  InventoryPolicy,
  isSellable,
  policyErrors,
  policySql,
  UNBOUNDED_ALLOWANCE,
  uncoveredOf,
  type PolicySetting,
} from './policy';
export { availableOf, bestStatus, inInt32Range, INT32_MAX, stockStatus, type StockStatus } from './availability';
export {
  effectiveReserved,
  ensureLevel,
  ensureLevels,
  findLevels,
  LEVEL_COLUMNS,
  levelColumns,
  levelsByIds,
  lockLevels,
  resolveLevel,
  type LevelAddress,
  type ResolvedLevel,
} from './levels';
export { purgeExpiredKeys, requestHash, runStockOperation, stockOperation, type OpResult } from './idempotency';
export {
  LINE_COLUMNS,
  LINE_FIELDS,
  pick,
  RES_COLUMNS,
  RES_FIELDS,
  columns,
  type ReservationLineRow,
  type ReservationRow,
  type ReservationStatus,
} from './reservation-rows';
