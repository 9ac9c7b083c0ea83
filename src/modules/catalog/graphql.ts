/** The catalogue's GraphQL types that other modules' resolvers and types reference (see ./index.ts). */
export { InventoryPolicyEnum, MoneyInput, Product, Variant, Warehouse, WarehouseTypeEnum } from './catalog.types';
export { ProductConnection } from './catalog.reads.types';
