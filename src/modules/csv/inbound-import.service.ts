/**
 * CSV import of inbound shipment lines (issue 22): `npm run import -- lines.csv --inbound`.
 *
 * One row per line: reference, sku, warehouse, quantity, and optionally expectedAt, source and note
 * (taken from the first row of a reference that has them). Rows are grouped by reference, and each
 * reference becomes one shipment through ShipmentService.create (the API's rules, one transaction
 * per shipment, at most 100 lines), keyed `<seed>:<hash of the reference>`: running the same file
 * again replays the shipments already created and creates none twice. Inbound files are small
 * (a reference's lines are held until the file is read); a bad row fails its shipment only.
 */
import crypto from 'node:crypto';
import type { App } from '../../app';
import type { AuthInfo } from '../../graphql/scopes';
import { ShipmentService } from '../inbound';
import { parseRawRecord } from './csv-row';
import { CsvImportError } from './import-types';
import { rawRecords } from './records';

type Field = 'reference' | 'sku' | 'warehouse' | 'quantity' | 'expectedAt' | 'source' | 'note';
const ALIASES: Record<Field, string[]> = {
  reference: ['reference', 'po', 'purchaseorder', 'shipment'],
  sku: ['sku'],
  warehouse: ['warehouse', 'warehousecode'],
  quantity: ['quantity', 'qty'],
  expectedAt: ['expectedat', 'expected', 'eta'],
  source: ['source', 'supplier'],
  note: ['note'],
};
const REQUIRED: Field[] = ['reference', 'sku', 'warehouse', 'quantity'];

export interface InboundImportFailure {
  reference: string | null;
  line: number | null;
  code: string;
  message: string;
}
export interface InboundImportSummary {
  rows: number;
  shipments: number;
  created: number;
  alreadyCreated: number;
  failed: number;
  failures: InboundImportFailure[];
}

interface Group {
  reference: string;
  expectedAt: string | null;
  source: string | null;
  note: string | null;
  lines: { sku: string; warehouseCode: string; quantity: number; line: number }[];
  rowErrors: InboundImportFailure[];
}

function headerIndex(columns: string[]): Partial<Record<Field, number>> {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const index: Partial<Record<Field, number>> = {};
  columns.forEach((c, i) => {
    for (const [f, names] of Object.entries(ALIASES) as [Field, string[]][])
      if (names.includes(norm(c)) && index[f] === undefined) index[f] = i;
  });
  const missing = REQUIRED.filter((f) => index[f] === undefined);
  if (missing.length)
    throw new CsvImportError(`the header has no ${missing.join(', ')} column (inbound lines need ${REQUIRED.join(', ')})`);
  return index;
}

/** Reads the file into shipments (grouped by reference), in the order references first appear. */
async function readGroups(input: AsyncIterable<Buffer | string>) {
  let index: Partial<Record<Field, number>> | null = null;
  const groups = new Map<string, Group>();
  const orphans: InboundImportFailure[] = [];
  let rows = 0;
  for await (const rec of rawRecords(input)) {
    const parsed = rec.error ? { code: 'CSV_PARSE_ERROR', message: rec.error } : parseRawRecord(rec.raw, rec.line);
    if (parsed === null) continue;
    if (!index) {
      if (!Array.isArray(parsed)) throw new CsvImportError(`the header (line ${rec.line}) cannot be read: ${parsed.message}`);
      index = headerIndex(parsed);
      continue;
    }
    rows++;
    if (!Array.isArray(parsed)) {
      orphans.push({ reference: null, line: rec.line, code: parsed.code, message: parsed.message });
      continue;
    }
    const get = (f: Field) => (index![f] !== undefined ? (parsed[index![f]!] ?? '').trim() : '');
    const reference = get('reference');
    if (!reference) {
      orphans.push({ reference: null, line: rec.line, code: 'MISSING_VALUE', message: 'reference is empty' });
      continue;
    }
    let g = groups.get(reference);
    if (!g) groups.set(reference, (g = { reference, expectedAt: null, source: null, note: null, lines: [], rowErrors: [] }));
    g.expectedAt ??= get('expectedAt') || null;
    g.source ??= get('source') || null;
    g.note ??= get('note') || null;
    const q = get('quantity');
    if (!/^\+?\d+$/.test(q) || !Number.isSafeInteger(Number(q)))
      g.rowErrors.push({ reference, line: rec.line, code: 'INVALID_NUMBER', message: `quantity "${q}" is not a whole number` });
    else g.lines.push({ sku: get('sku'), warehouseCode: get('warehouse'), quantity: Number(q), line: rec.line });
  }
  if (!index) throw new CsvImportError('the file is empty (a header row is required)');
  return { rows, groups: [...groups.values()], orphans };
}

/** Imports inbound lines as shipments; see the file comment. */
export async function importInboundCsv(
  app: App,
  opts: { auth: AuthInfo; input: AsyncIterable<Buffer | string>; seed: string },
): Promise<InboundImportSummary> {
  const { rows, groups, orphans } = await readGroups(opts.input);
  const svc = new ShipmentService(app);
  const out: InboundImportSummary = { rows, shipments: groups.length, created: 0, alreadyCreated: 0, failed: 0, failures: [...orphans] };
  for (const g of groups) {
    const expectedAt = g.expectedAt ? new Date(g.expectedAt) : null;
    const bad = [...g.rowErrors];
    if (expectedAt && Number.isNaN(expectedAt.getTime()))
      bad.push({
        reference: g.reference,
        line: g.lines[0]?.line ?? null,
        code: 'INVALID_INPUT',
        message: `expectedAt "${g.expectedAt}" is not a date`,
      });
    if (bad.length) {
      out.failed++;
      out.failures.push(...bad);
      continue;
    }
    const key = `${opts.seed}:${crypto.createHash('sha256').update(g.reference).digest('hex').slice(0, 16)}`;
    const r = await svc.create(opts.auth, {
      reference: g.reference,
      source: g.source,
      expectedAt,
      note: g.note,
      lines: g.lines.map(({ sku, warehouseCode, quantity }) => ({ sku, warehouseCode, quantity })),
      idempotencyKey: key,
    });
    if (r.userErrors.length) {
      out.failed++;
      for (const e of r.userErrors) {
        const i = e.field?.[2] !== undefined && e.field[1] === 'lines' ? Number(e.field[2]) : NaN;
        out.failures.push({ reference: g.reference, line: g.lines[i]?.line ?? null, code: e.code, message: e.message });
      }
    } else if (r.replayed) out.alreadyCreated++;
    else out.created++;
  }
  return out;
}
