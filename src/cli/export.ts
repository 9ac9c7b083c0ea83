/**
 * `npm run --silent export -- [--warehouse CODE] [--store HANDLE] [--out FILE] > stock.csv`
 * Streams the current stock levels of a store as CSV (see docs/CSV.md). The CSV is the only
 * thing written to stdout (use `npm run --silent` so that npm adds no banner of its own).
 */
import fs from 'node:fs';
import { fail, withApp } from './common';
import { CsvExportError, exportCsv } from '../modules/csv/csv-export.service';

const USAGE = 'usage: npm run --silent export -- [--store HANDLE] [--warehouse CODE] [--out FILE] > stock.csv';

function parseArgs(argv: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') throw new CsvExportError(USAGE);
    if (!a.startsWith('--')) throw new CsvExportError(`unexpected argument "${a}"\n${USAGE}`);
    const eq = a.indexOf('=');
    const k = eq === -1 ? a.slice(2) : a.slice(2, eq);
    const v = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (!['store', 'warehouse', 'out'].includes(k)) throw new CsvExportError(`unknown option --${k}\n${USAGE}`);
    if (v === undefined || v === '') throw new CsvExportError(`--${k} needs a value\n${USAGE}`);
    flags[k] = v;
  }
  return flags;
}

async function main() {
  const flags = parseArgs(process.argv.slice(2));
  const storeCode = flags.store ?? 'demo';
  await withApp(async (app) => {
    const store = await app.db.prisma.store.findUnique({ where: { code: storeCode } });
    if (!store) throw new CsvExportError(`store "${storeCode}" does not exist${storeCode === 'demo' ? ' (load it with `npm run seed`, or pass --store)' : ''}`);
    const toFile = flags.out !== undefined;
    if (!toFile && process.env.npm_lifecycle_event === 'export' && process.env.npm_config_loglevel !== 'silent' && !process.stdout.isTTY) {
      process.stderr.write('warning: npm printed its own banner on stdout ahead of the CSV; use `npm run --silent export -- …` or `--out FILE`\n');
    }
    const out = toFile ? fs.createWriteStream(flags.out) : process.stdout;
    // A closed pipe (`| head`) is not an error worth a stack trace.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
    });
    const t0 = Date.now();
    const r = await exportCsv(app, { storeId: store.id, warehouseCode: flags.warehouse ?? null, end: toFile }, out);
    process.stderr.write(`Exported ${r.rows} level(s) of store "${storeCode}"${flags.warehouse ? ` in warehouse ${flags.warehouse}` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s.\n`);
  });
}

main().catch(fail);
