/** The inventory module's GraphQL types that other modules' resolvers and types reference (see ./index.ts). */
export { InventoryLevel, LevelAddressInput, MovementReasonEnum, StockStatusEnum } from './inventory.types';
export { InventoryLevelConnection, StockMovement, StockTotals } from './inventory.reads.types';
