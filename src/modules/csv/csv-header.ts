/** The import's header: which column gives which field, and the mode the columns imply. */
import { CsvImportError, type ImportMode } from './import-types';

export type Field =
  | 'sku'
  | 'externalId'
  | 'label'
  | 'warehouse'
  | 'quantity'
  | 'delta'
  | 'reason'
  | 'note'
  | 'price'
  | 'currency'
  | 'inventoryPolicy'
  | 'backorderLimit'
  | 'levelInventoryPolicy'
  | 'levelBackorderLimit';

/** Accepted header names, compared lower-case with everything but letters and digits removed. */
const ALIASES: Record<Field, string[]> = {
  sku: ['sku'],
  externalId: ['externalid', 'productexternalid'],
  label: ['label', 'variantlabel'],
  warehouse: ['warehouse', 'warehousecode'],
  quantity: ['quantity', 'qty', 'onhand'],
  delta: ['delta'],
  reason: ['reason'],
  note: ['note'],
  price: ['price', 'priceamount'],
  currency: ['currency', 'pricecurrency', 'currencycode'],
  inventoryPolicy: ['inventorypolicy', 'policy'],
  backorderLimit: ['backorderlimit'],
  levelInventoryPolicy: ['levelinventorypolicy', 'levelpolicy'],
  levelBackorderLimit: ['levelbackorderlimit'],
};

const normalize = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface HeaderMap {
  columns: string[];
  index: Partial<Record<Field, number>>;
}

/** Maps header names to the fields the importer understands; other columns are ignored. */
export function mapHeader(columns: string[]): HeaderMap {
  const index: Partial<Record<Field, number>> = {};
  columns.forEach((name, i) => {
    const n = normalize(name);
    const field = (Object.keys(ALIASES) as Field[]).find((f) => ALIASES[f].includes(n));
    if (!field) return;
    if (index[field] !== undefined) throw new CsvImportError(`columns "${columns[index[field]!]}" and "${name}" both give ${field}`);
    index[field] = i;
  });
  if (index.sku === undefined && index.externalId === undefined)
    throw new CsvImportError('the header needs a "sku" or an "externalId" column');
  return { columns, index };
}

/** The explicit mode, or the one the columns imply (quantity → set, delta → adjust). */
export function resolveMode(h: HeaderMap, requested?: ImportMode | null): ImportMode {
  const hasQ = h.index.quantity !== undefined;
  const hasD = h.index.delta !== undefined;
  if (requested === 'set' && !hasQ) throw new CsvImportError('--mode set needs a "quantity" (or "onHand") column');
  if (requested === 'adjust' && !hasD) throw new CsvImportError('--mode adjust needs a "delta" column');
  if (requested) return requested;
  if (hasQ && hasD) throw new CsvImportError('the file has both "quantity" and "delta" columns: choose one with --mode set|adjust');
  if (hasQ) return 'set';
  if (hasD) return 'adjust';
  throw new CsvImportError('the header needs a "quantity" column (mode set) or a "delta" column (mode adjust)');
}
