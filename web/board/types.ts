/** The board's data: statuses, levels and events as the API sends them, and the limits it keeps. */
export type Status = 'IN_STOCK' | 'LOW_STOCK' | 'CRITICAL' | 'OUT_OF_STOCK';
export const ALERTS: Status[] = ['LOW_STOCK', 'CRITICAL', 'OUT_OF_STOCK'];
export const STATUS_LABEL: Record<Status, string> = {
  IN_STOCK: 'In stock',
  LOW_STOCK: 'Low',
  CRITICAL: 'Critical',
  OUT_OF_STOCK: 'Out of stock',
};
/** Most levels loaded at start (250 a page); beyond that the board says it is partial. */
export const MAX_LEVELS = 2000;
/** Movements kept per SKU for its sparkline. */
export const SPARK_POINTS = 24;

export interface Warehouse {
  id: string;
  code: string;
  name: string;
}

export interface RawLevel {
  id: string;
  onHand: number;
  reserved: number;
  available: number;
  /** Open inbound lines + units in transit to this level (derived). */
  incoming: number;
  /** The transfer part of incoming. */
  inTransit: number;
  status: Status;
  lowStockThreshold: number;
  criticalThreshold: number;
  version: number;
  updatedAt: string;
  variant: { sku: string };
  warehouse: Warehouse;
}

/** A level as the board keeps it: the API's level with its variant flattened to the sku. */
export type Level = Omit<RawLevel, 'variant'> & { sku: string };

export interface Move {
  at: number;
  delta: number;
}

export interface ChangedEvent {
  cursor: string;
  occurredAt: string;
  reason: string;
  before: { onHand: number; reserved: number };
  after: { onHand: number; reserved: number };
  inventoryLevel: RawLevel;
}

export interface StatusEvent {
  cursor: string;
  occurredAt: string;
  previousStatus: Status;
  status: Status;
  available: number;
  inventoryLevel: RawLevel;
}
