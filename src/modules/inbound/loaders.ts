/** Inbound shipments' and transfers' per-request DataLoaders (src/graphql/loaders.ts). */
import { byKey, defineLoader, groupBy } from '../../graphql/loaders';
import {
  inTransitByLevelIds,
  linesByShipmentIds,
  linesByTransferIds,
  shipmentsByIds,
  transfersByIds,
  type InboundLineView,
  type InboundShipmentRow,
  type TransferLineRow,
  type TransferRow,
} from './inbound.reads';

export const shipmentById = defineLoader<string, InboundShipmentRow | null>('inboundShipmentById', async (tx, sid, ids) =>
  byKey(ids, await shipmentsByIds(tx, sid, ids), (r) => r.id),
);
export const linesByShipmentId = defineLoader<string, InboundLineView[]>('inboundLinesByShipmentId', async (tx, sid, ids) =>
  groupBy(ids, await linesByShipmentIds(tx, sid, ids), (r) => r.shipmentId),
);
export const transferById = defineLoader<string, TransferRow | null>('transferById', async (tx, sid, ids) =>
  byKey(ids, await transfersByIds(tx, sid, ids), (r) => r.id),
);
export const linesByTransferId = defineLoader<string, TransferLineRow[]>('transferLinesByTransferId', async (tx, sid, ids) =>
  groupBy(ids, await linesByTransferIds(tx, sid, ids), (r) => r.transferId),
);
export const inTransitByLevelId = defineLoader<string, number>('inTransitByLevelId', async (tx, sid, ids) =>
  byKey(ids, await inTransitByLevelIds(tx, sid, ids), (r) => r.levelId).map((r) => r?.units ?? 0),
);
