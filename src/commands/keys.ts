/**
 * API key management:
 *   npm run key:create -- --store <code> [--publishable | --kind sk|pk] [--scopes a,b] [--name text] [--create-store]
 *   npm run key:list   -- [--store <code>]
 *   npm run key:revoke -- <key id | prefix as listed | whole key>
 *   npm run key:quota  -- <key id | prefix as listed | whole key> <points>/<day|month> | none
 */
import { parseCliArgs, type ArgSpec } from './args';
import type { CommandContext } from './io';
import { KeyError, createApiKey, listApiKeys, revokeApiKey, setApiKeyQuota } from '../modules/auth/keys.service';
import { parseQuota } from '../modules/auth/quota';
import { SCOPES } from '../graphql/scopes';

export const USAGE = `usage:
  key:create --store <code> [--publishable | --kind sk|pk] [--scopes ${SCOPES.join(',')}] [--name text] [--create-store] [--quota <points>/<day|month>]
      secret keys (sk_…) get the given scopes (default admin); publishable keys (pk_…) always have
      the one scope storefront:read; --create-store creates the store <code> when it does not exist;
      --quota limits the key to that many cost points per UTC day or month
  key:list [--store <code>]
  key:revoke <key id | prefix as key:list prints it | the whole key>
  key:quota <key id | prefix as key:list prints it | the whole key> <points>/<day|month> | none`;

const ARGS: ArgSpec = {
  strings: ['store', 'kind', 'scopes', 'name', 'quota'],
  booleans: ['publishable', 'create-store'],
  usage: USAGE,
  error: (message) => new KeyError(message),
};

/** Left-aligned columns separated by two spaces (the last column is not padded). */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows
    .map(
      (r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - [...c].length)))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}

export async function run({ argv, io, app: open }: CommandContext): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values, flags, positionals: positional } = parseCliArgs(rest, ARGS);
  const str = (k: string) => values[k];
  if (cmd === 'create') {
    const code = str('store');
    if (!code) throw new KeyError(`--store is required\n${USAGE}`);
    const kind = (flags.has('publishable') ? 'pk' : (str('kind') ?? 'sk')) as 'sk' | 'pk';
    if (kind !== 'sk' && kind !== 'pk') throw new KeyError('--kind must be sk or pk');
    const scopes = (str('scopes') ?? (kind === 'pk' ? '' : 'admin'))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const quota = str('quota') !== undefined ? parseQuota(str('quota')!) : null;
    if (str('quota') !== undefined && !quota)
      throw new KeyError(`--quota must look like 100000/day or 5000000/month, got "${str('quota')}"`);
    const app = await open();
    let store = await app.db.prisma.store.findUnique({ where: { code } });
    if (!store && flags.has('create-store')) store = await app.db.prisma.store.create({ data: { code, name: code } });
    if (!store) throw new KeyError(`store "${code}" does not exist (pass --create-store to create it)`);
    const k = await createApiKey(app.db.prisma, { storeId: store.id, kind, scopes, name: str('name') });
    if (quota) await setApiKeyQuota(app.db.prisma, k.id, quota);
    io.stdout.write(`${k.key}\n`);
    io.stderr.write(
      `Created ${kind} key ${k.id} for store "${code}" with scopes [${kind === 'pk' ? 'storefront:read' : k.scopes.join(', ')}]. It is shown only once.\n`,
    );
    return 0;
  }
  if (cmd === 'list') {
    const app = await open();
    const store = str('store') ? await app.db.prisma.store.findUnique({ where: { code: str('store')! } }) : null;
    if (str('store') && !store) throw new KeyError(`store "${str('store')}" does not exist`);
    const keys = await listApiKeys(app.db.prisma, store?.id);
    const rows = [['ID', 'PREFIX', 'KIND', 'STORE', 'SCOPES', 'STATUS', 'NAME']];
    for (const k of keys) {
      rows.push([
        k.id,
        k.prefix + '…',
        k.kind,
        k.store.code,
        (k.kind === 'pk' ? ['storefront:read'] : k.scopes).join(',') || '-',
        k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active',
        k.name,
      ]);
    }
    io.stdout.write(table(rows));
    if (keys.length === 0) io.stderr.write('No keys yet: create one with npm run key:create -- --store <code>\n');
    return 0;
  }
  if (cmd === 'revoke') {
    const target = positional[0];
    if (!target) throw new KeyError(`a key id, prefix or key is required\n${USAGE}`);
    const app = await open();
    const n = await revokeApiKey(app.db.prisma, target);
    if (n === 0)
      throw new KeyError(`no active key matches "${target}" (give the ID or the PREFIX that npm run key:list prints, or the whole key)`);
    io.stdout.write(`Revoked ${n} key(s).\n`);
    return 0;
  }
  if (cmd === 'quota') {
    const [target, spec] = positional;
    if (!target || !spec) throw new KeyError(`a key and a quota are required\n${USAGE}`);
    const quota = spec === 'none' ? null : parseQuota(spec);
    if (spec !== 'none' && !quota) throw new KeyError(`the quota must look like 100000/day, 5000000/month or none, got "${spec}"`);
    const app = await open();
    const n = await setApiKeyQuota(app.db.prisma, target, quota);
    if (n === 0)
      throw new KeyError(`no active key matches "${target}" (give the ID or the PREFIX that npm run key:list prints, or the whole key)`);
    io.stdout.write(
      quota
        ? `Quota of ${n} key(s): ${quota.points} points per ${quota.period.toLowerCase()} (UTC).\n`
        : `Quota removed from ${n} key(s).\n`,
    );
    return 0;
  }
  throw new KeyError(USAGE);
}
