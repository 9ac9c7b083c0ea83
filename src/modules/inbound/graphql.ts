/** The inbound module's GraphQL types that other modules' resolvers reference (see ./index.ts). */
export { InboundShipment, InventoryTransfer } from './inbound.types';
