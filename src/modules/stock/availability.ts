/** Pure stock arithmetic shared by reads, events and tests. Mirrors SQL inventory_stock_status(). */
export type StockStatus = 'IN_STOCK' | 'LOW_STOCK' | 'CRITICAL' | 'OUT_OF_STOCK';

export const INT32_MAX = 2_147_483_647;

export function availableOf(onHand: number, reserved: number, safetyStock: number): number {
  return Math.max(0, onHand - reserved - safetyStock);
}

export function stockStatus(available: number, lowStockThreshold: number, criticalThreshold: number): StockStatus {
  if (available <= 0) return 'OUT_OF_STOCK';
  if (criticalThreshold > 0 && available <= criticalThreshold) return 'CRITICAL';
  if (lowStockThreshold > 0 && available <= lowStockThreshold) return 'LOW_STOCK';
  return 'IN_STOCK';
}

/** Worst status first: the aggregate status of several levels is the best one among them. */
const rank: Record<StockStatus, number> = { OUT_OF_STOCK: 0, CRITICAL: 1, LOW_STOCK: 2, IN_STOCK: 3 };
export function bestStatus(statuses: StockStatus[]): StockStatus {
  return statuses.reduce<StockStatus>((best, s) => (rank[s] > rank[best] ? s : best), 'OUT_OF_STOCK');
}

export function inInt32Range(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= INT32_MAX;
}
