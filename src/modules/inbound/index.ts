/**
 * The inbound module (issue 22): inbound shipments and transfers in transit, whose open lines make
 * the levels' derived `incoming`. Services and reads (plain TypeScript); resolvers are registered by
 * src/server/schema.ts. It depends on inventory, the catalogue and the stock core.
 */
export { ShipmentService, type ShipmentResult } from './shipment.service';
export { TransferService, type TransferResult } from './transfer.service';
export { linesByShipmentId, linesByTransferId, shipmentById, transferById } from './loaders';
