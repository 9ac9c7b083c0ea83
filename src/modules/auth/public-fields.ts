/**
 * What a publishable (pk_) key may read: public stock only — whether and how much can be bought,
 * never onHand, reserved, incoming, thresholds, the ledger or reservations (seed 001's public read).
 * Checked against the operation before execution; anything else is FORBIDDEN naming the field.
 */
export const PUBLIC_FIELDS: Record<string, ReadonlySet<string>> = {
  Query: new Set(['product', 'products', 'variant', 'variants', 'variantByLabel']),
  Product: new Set(['id', 'name', 'externalId', 'active', 'variants', 'variantCount', 'totalAvailable', 'status', 'hasStock']),
  Variant: new Set(['id', 'sku', 'label', 'options', 'isDefault', 'product', 'inventoryLevels', 'totalAvailable', 'status', 'hasStock']),
  VariantOption: new Set(['name', 'value']),
  VariantLookupResult: new Set(['variant', 'userErrors']),
  UserError: new Set(['code', 'field', 'message']),
  InventoryLevel: new Set(['id', 'available', 'status', 'variant', 'warehouse']),
  Warehouse: new Set(['id', 'code', 'name']),
  PageInfo: new Set(['hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor']),
};

/** Connections and edges of public node types are public too. */
export function isPublicField(typeName: string, field: string): boolean {
  if (field === '__typename') return true;
  const conn = /^(Product|Variant|InventoryLevel)(Connection|Edge)$/.exec(typeName);
  if (conn) return ['edges', 'nodes', 'pageInfo', 'totalCount', 'cursor', 'node'].includes(field);
  return PUBLIC_FIELDS[typeName]?.has(field) ?? false;
}
