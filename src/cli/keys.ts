/**
 * API key management:
 *   npm run key:create -- --store <code> [--publishable | --kind sk|pk] [--scopes a,b] [--name text] [--create-store]
 *   npm run key:list   -- [--store <code>]
 *   npm run key:revoke -- <key id | key prefix>
 *   npm run key:quota  -- <key id | key prefix | key> <points>/<day|month> | none
 */
import { fail, withApp } from './common';
import { KeyError, createApiKey, listApiKeys, revokeApiKey, setApiKeyQuota } from '../modules/auth/keys.service';
import { parseQuota } from '../modules/auth/quota';
import { SCOPES } from '../modules/auth/scopes';

function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) flags[k] = v;
      else if (argv[i + 1] && !argv[i + 1].startsWith('--')) flags[k] = argv[++i];
      else flags[k] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

const USAGE = `usage:
  key:create --store <code> [--publishable | --kind sk|pk] [--scopes ${SCOPES.join(',')}] [--name text] [--create-store] [--quota <points>/<day|month>]
  key:list [--store <code>]
  key:revoke <key id | prefix>
  key:quota <key id | prefix | key> <points>/<day|month> | none`;

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const { positional, flags } = parseArgs(rest);
  const str = (k: string) => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
  if (cmd === 'create') {
    const code = str('store');
    if (!code) throw new KeyError(`--store is required\n${USAGE}`);
    const kind = (flags.publishable ? 'pk' : (str('kind') ?? 'sk')) as 'sk' | 'pk';
    if (kind !== 'sk' && kind !== 'pk') throw new KeyError('--kind must be sk or pk');
    const scopes = (str('scopes') ?? (kind === 'pk' ? '' : 'admin')).split(',').map((s) => s.trim()).filter(Boolean);
    const quota = str('quota') !== undefined ? parseQuota(str('quota')!) : null;
    if (str('quota') !== undefined && !quota) throw new KeyError(`--quota must look like 100000/day or 5000000/month, got "${str('quota')}"`);
    await withApp(async (app) => {
      let store = await app.db.prisma.store.findUnique({ where: { code } });
      if (!store && flags['create-store']) store = await app.db.prisma.store.create({ data: { code, name: code } });
      if (!store) throw new KeyError(`store "${code}" does not exist (pass --create-store to create it)`);
      const k = await createApiKey(app.db.prisma, { storeId: store.id, kind, scopes, name: str('name') });
      if (quota) await setApiKeyQuota(app.db.prisma, k.id, quota);
      process.stdout.write(`${k.key}\n`);
      process.stderr.write(`Created ${kind} key ${k.id} for store "${code}" with scopes [${kind === 'pk' ? 'storefront:read' : k.scopes.join(', ')}]. It is shown only once.\n`);
    });
  } else if (cmd === 'list') {
    await withApp(async (app) => {
      const store = str('store') ? await app.db.prisma.store.findUnique({ where: { code: str('store')! } }) : null;
      if (str('store') && !store) throw new KeyError(`store "${str('store')}" does not exist`);
      const keys = await listApiKeys(app.db.prisma, store?.id);
      for (const k of keys) {
        process.stdout.write(
          [k.id, k.prefix + '…', k.kind, k.store.code, k.scopes.join(',') || '-', k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active', k.name].join('\t') + '\n',
        );
      }
    });
  } else if (cmd === 'revoke') {
    const target = positional[0];
    if (!target) throw new KeyError(`a key id or prefix is required\n${USAGE}`);
    await withApp(async (app) => {
      const n = await revokeApiKey(app.db.prisma, target);
      if (n === 0) throw new KeyError(`no active key matches "${target}"`);
      process.stdout.write(`Revoked ${n} key(s).\n`);
    });
  } else if (cmd === 'quota') {
    const [target, spec] = positional;
    if (!target || !spec) throw new KeyError(`a key and a quota are required\n${USAGE}`);
    const quota = spec === 'none' ? null : parseQuota(spec);
    if (spec !== 'none' && !quota) throw new KeyError(`the quota must look like 100000/day, 5000000/month or none, got "${spec}"`);
    await withApp(async (app) => {
      const n = await setApiKeyQuota(app.db.prisma, target, quota);
      if (n === 0) throw new KeyError(`no active key matches "${target}"`);
      process.stdout.write(quota ? `Quota of ${n} key(s): ${quota.points} points per ${quota.period.toLowerCase()} (UTC).\n` : `Quota removed from ${n} key(s).\n`);
    });
  } else {
    throw new KeyError(USAGE);
  }
}

main().catch(fail);
