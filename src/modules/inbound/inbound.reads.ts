/**
 * Read side of inbound shipments and transfers: keyset pages (newest first) filtered by status,
 * warehouse and expected date, and the batch reads behind the per-request DataLoaders.
 */
import { columnsOf } from '../../db/columns';
import { preparedStatement } from '../../db/client';
import { filterBuilder, runPage, type Page, type PageRequest } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import type {
  InboundLine as InboundLineRow,
  InboundShipment as InboundShipmentRow,
  InventoryTransfer as TransferRow,
  TransferLine as TransferLineRow,
} from '../../generated/prisma/client';

export type { InboundLineRow, InboundShipmentRow, TransferLineRow, TransferRow };
/** An inbound line with its level's variant and warehouse. */
export type InboundLineView = InboundLineRow & { variantId: string; warehouseId: string };

export interface InboundFilter {
  statuses?: string[] | null;
  warehouseIds?: string[] | null;
  expectedBefore?: Date | null;
  reference?: string | null;
}

const SHIPMENT_SELECT = columnsOf('inboundShipment', 's');
const TRANSFER_SELECT = columnsOf('inventoryTransfer', 't');

/** filterBuilder() whose add() skips an absent value. */
function filters(storeId: string) {
  const q = filterBuilder(storeId);
  return { ...q, add: (sql: (n: number) => string, v: unknown) => (v == null ? undefined : q.add(sql, v)) };
}

export function shipmentPage(tx: Tx, storeId: string, f: InboundFilter, page: PageRequest): Promise<Page<InboundShipmentRow>> {
  const q = filters(storeId);
  q.add((n) => `s.status::text = ANY($${n}::text[])`, f.statuses);
  q.add((n) => `s.reference = $${n}`, f.reference);
  q.add((n) => `s.expected_at < $${n}::timestamptz`, f.expectedBefore);
  q.add(
    (n) => `EXISTS (SELECT 1 FROM inbound_lines il JOIN inventory_levels l ON l.id = il.inventory_level_id AND l.store_id = il.store_id
                      WHERE il.store_id = s.store_id AND il.shipment_id = s.id AND l.warehouse_id = ANY($${n}::uuid[]))`,
    f.warehouseIds,
  );
  return runPage<InboundShipmentRow>(
    tx,
    {
      select: SHIPMENT_SELECT,
      from: 'inbound_shipments s',
      where: ['s.store_id = $1', ...q.where],
      params: q.params,
      sort: { expr: 's.created_at', cast: 'timestamptz', idExpr: 's.id', idCast: 'uuid' },
    },
    page,
  );
}

export function transferPage(tx: Tx, storeId: string, f: InboundFilter, page: PageRequest): Promise<Page<TransferRow>> {
  const q = filters(storeId);
  q.add((n) => `t.status::text = ANY($${n}::text[])`, f.statuses);
  q.add((n) => `t.reference = $${n}`, f.reference);
  q.add((n) => `t.expected_at < $${n}::timestamptz`, f.expectedBefore);
  q.add((n) => `(t.from_warehouse_id = ANY($${n}::uuid[]) OR t.to_warehouse_id = ANY($${n}::uuid[]))`, f.warehouseIds);
  return runPage<TransferRow>(
    tx,
    {
      select: TRANSFER_SELECT,
      from: 'inventory_transfers t',
      where: ['t.store_id = $1', ...q.where],
      params: q.params,
      sort: { expr: 't.created_at', cast: 'timestamptz', idExpr: 't.id', idCast: 'uuid' },
    },
    page,
  );
}

const SHIPMENTS_BY_IDS = preparedStatement(
  'inbound_shipments_by_ids',
  `SELECT ${SHIPMENT_SELECT} FROM inbound_shipments s WHERE s.store_id = $1 AND s.id = ANY($2::uuid[])`,
);
const LINES_BY_SHIPMENTS = preparedStatement(
  'inbound_lines_by_shipments',
  `SELECT ${columnsOf('inboundLine', 'il')}, l.variant_id AS "variantId", l.warehouse_id AS "warehouseId"
     FROM inbound_lines il JOIN inventory_levels l ON l.id = il.inventory_level_id AND l.store_id = il.store_id
    WHERE il.store_id = $1 AND il.shipment_id = ANY($2::uuid[]) ORDER BY il.shipment_id, il.position, il.id`,
);
const TRANSFERS_BY_IDS = preparedStatement(
  'inventory_transfers_by_ids',
  `SELECT ${TRANSFER_SELECT} FROM inventory_transfers t WHERE t.store_id = $1 AND t.id = ANY($2::uuid[])`,
);
const LINES_BY_TRANSFERS = preparedStatement(
  'transfer_lines_by_transfers',
  `SELECT ${columnsOf('transferLine', 'tl')} FROM transfer_lines tl
    WHERE tl.store_id = $1 AND tl.transfer_id = ANY($2::uuid[]) ORDER BY tl.transfer_id, tl.position, tl.id`,
);

export const shipmentsByIds = (tx: Tx, storeId: string, ids: readonly string[]) =>
  tx.query<InboundShipmentRow>(SHIPMENTS_BY_IDS, [storeId, ids]);
export const linesByShipmentIds = (tx: Tx, storeId: string, ids: readonly string[]) =>
  tx.query<InboundLineView>(LINES_BY_SHIPMENTS, [storeId, ids]);
export const transfersByIds = (tx: Tx, storeId: string, ids: readonly string[]) => tx.query<TransferRow>(TRANSFERS_BY_IDS, [storeId, ids]);
export const linesByTransferIds = (tx: Tx, storeId: string, ids: readonly string[]) =>
  tx.query<TransferLineRow>(LINES_BY_TRANSFERS, [storeId, ids]);

const IN_TRANSIT_BY_LEVELS = preparedStatement(
  'in_transit_by_levels',
  `SELECT tl.destination_level_id AS "levelId", sum(tl.quantity - tl.received_quantity - tl.lost_quantity)::int AS units
     FROM transfer_lines tl WHERE tl.store_id = $1 AND tl.destination_level_id = ANY($2::uuid[]) GROUP BY tl.destination_level_id`,
);
/** Units of transfers in transit to each level (the transfer part of its incoming). */
export const inTransitByLevelIds = (tx: Tx, storeId: string, ids: readonly string[]) =>
  tx.query<{ levelId: string; units: number }>(IN_TRANSIT_BY_LEVELS, [storeId, ids]);
