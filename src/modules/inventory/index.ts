/**
 * The inventory module's public interface for services and the data layer (read side, plain
 * TypeScript); its GraphQL types are in ./graphql. Other modules import inventory only from these.
 * Inventory depends on the catalogue (a level is a variant in a warehouse), never the reverse;
 * reservations depend on inventory. The stock write side (writer, levels, idempotency,
 * availability) is the stock core's, with its own public interface.
 * Resolvers are not exported: src/server/schema.ts registers them.
 */
export { stockTotals, type LevelFilter, type StockTotals } from './level.reads';
export { movementsByIds, type MovementRow } from './movement.reads';
export {
  InventoryService,
  type BulkInput,
  type BulkItem,
  type BulkItemResult,
  type BulkMode,
  type BulkResult,
  type ErrorPolicy,
} from './inventory.service';
export { levelById, movementById, totalsByProductId, totalsByVariantId } from './loaders';
export { LedgerRollup, resetCheckpoints, rollupOnce, type RollupOutcome } from './ledger-rollup';
export { failureError, noteErrors, quantityErrors } from './inventory.rules';
