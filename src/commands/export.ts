/**
 * `npm run --silent export -- [--warehouse CODE] [--store HANDLE] [--out FILE] > stock.csv`
 * Streams the current stock levels of a store as CSV (see docs/CSV.md). The CSV is the only
 * thing written to stdout (use `npm run --silent` so that npm adds no banner of its own).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseCliArgs } from './args';
import type { CommandContext } from './io';
import { CsvExportError, exportCsv } from '../modules/csv/csv-export.service';

const USAGE = 'usage: npm run --silent export -- [--store HANDLE] [--warehouse CODE] [--out FILE] > stock.csv';

function parseArgs(argv: string[]): Record<string, string | undefined> {
  const { values, positionals } = parseCliArgs(argv, {
    strings: ['store', 'warehouse', 'out'],
    usage: USAGE,
    error: (m) => new CsvExportError(m),
  });
  if (positionals.length) throw new CsvExportError(`unexpected argument "${positionals[0]}"\n${USAGE}`);
  return values;
}

export async function run({ argv, io, app: open }: CommandContext): Promise<number> {
  const flags = parseArgs(argv);
  const storeCode = flags.store ?? 'demo';
  const app = await open();
  const store = await app.db.prisma.store.findUnique({ where: { code: storeCode } });
  if (!store)
    throw new CsvExportError(
      `store "${storeCode}" does not exist${storeCode === 'demo' ? ' (load it with `npm run seed`, or pass --store)' : ''}`,
    );
  const toFile = flags.out !== undefined;
  if (!toFile && io.env.npm_lifecycle_event === 'export' && io.env.npm_config_loglevel !== 'silent' && !io.stdout.isTTY) {
    io.stderr.write('warning: npm printed its own banner on stdout ahead of the CSV; use `npm run --silent export -- …` or `--out FILE`\n');
  }
  const out = toFile ? fs.createWriteStream(path.resolve(io.cwd, flags.out!)) : io.stdout;
  const t0 = Date.now();
  const r = await exportCsv(app, { storeId: store.id, warehouseCode: flags.warehouse ?? null, end: toFile }, out);
  io.stderr.write(
    `Exported ${r.rows} level(s) of store "${storeCode}"${flags.warehouse ? ` in warehouse ${flags.warehouse}` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s.\n`,
  );
  return 0;
}
