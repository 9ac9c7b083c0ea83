/** What a subscription resolver gets for one event: its payload, with the cursor and the level's ids. */
export interface EventView {
  cursor: string;
  occurredAt: Date;
  levelId: string;
  variantId: string;
  warehouseId: string;
  [k: string]: unknown;
}
