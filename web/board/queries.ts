/** The board's GraphQL documents. */
const LEVEL = `id onHand reserved available incoming inTransit status lowStockThreshold criticalThreshold version updatedAt
  variant { sku } warehouse { id code name }`;

export const LOAD_LEVELS = `query BoardLevels($after: String) {
  inventoryLevels(first: 250, after: $after, sortKey: SKU) { nodes { ${LEVEL} } pageInfo { hasNextPage endCursor } }
}`;
export const CATCH_UP = `query BoardCatchUp($since: DateTimeISO!, $after: String) {
  inventoryLevels(first: 250, after: $after, sortKey: UPDATED_AT, filter: { updatedSince: $since }) {
    nodes { ${LEVEL} } pageInfo { hasNextPage endCursor }
  }
}`;
export const LOAD_WAREHOUSES = `query BoardWarehouses { warehouses(first: 250, sortKey: PRIORITY) { nodes { id code name } } }`;
export const LOAD_MOVES = `query BoardMoves {
  stockMovements(first: 250, reverse: true) { nodes { quantityDelta reservedDelta createdAt variant { sku } } }
}`;
export const ON_CHANGE = `subscription BoardInventory($after: String) {
  inventoryChanged(after: $after) {
    cursor occurredAt reason
    before { onHand reserved }
    after { onHand reserved }
    inventoryLevel { ${LEVEL} }
  }
}`;
export const ON_STATUS = `subscription BoardStatus($after: String) {
  stockStatusChanged(after: $after) {
    cursor occurredAt previousStatus status available
    inventoryLevel { ${LEVEL} }
  }
}`;
