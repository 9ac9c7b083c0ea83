/** API keys: created with a high-entropy secret shown once, stored as SHA-256 hashes. */
import crypto from 'node:crypto';
import type { PrismaClient } from '../../generated/prisma/client';
import { SCOPES, type AuthInfo } from '../../graphql/scopes';

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export interface CreatedKey {
  id: string;
  key: string;
  kind: 'pk' | 'sk';
  scopes: string[];
  storeId: string;
}

export class KeyError extends Error {}

export async function createApiKey(
  prisma: PrismaClient,
  opts: { storeId: string; kind: 'pk' | 'sk'; scopes?: string[]; name?: string },
): Promise<CreatedKey> {
  if (opts.kind === 'pk' && opts.scopes?.length) {
    throw new KeyError('publishable (pk) keys have a fixed scope, storefront:read; scopes apply to secret (sk) keys');
  }
  const scopes = opts.kind === 'pk' ? [] : (opts.scopes ?? []);
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) throw new KeyError(`unknown scope "${s}" (known: ${SCOPES.join(', ')})`);
  }
  if (opts.kind === 'sk' && scopes.length === 0) throw new KeyError('a secret key needs at least one scope');
  const key = `${opts.kind}_${crypto.randomBytes(24).toString('base64url')}`;
  const row = await prisma.apiKey.create({
    data: {
      storeId: opts.storeId,
      kind: opts.kind,
      scopes,
      name: opts.name ?? `${opts.kind} key`,
      prefix: key.slice(0, KEY_PREFIX_LENGTH),
      keyHash: hashKey(key),
    },
  });
  return { id: row.id, key, kind: opts.kind, scopes, storeId: opts.storeId };
}

export async function listApiKeys(prisma: PrismaClient, storeId?: string) {
  return prisma.apiKey.findMany({
    where: storeId ? { storeId } : {},
    orderBy: { createdAt: 'asc' },
    include: { store: { select: { code: true } } },
  });
}

/**
 * Sets (or with null removes) a key's usage quota. Takes effect within the authenticator's cache
 * time (a few seconds) on every instance. Returns how many keys matched.
 */
export async function setApiKeyQuota(
  prisma: PrismaClient,
  idOrPrefix: string,
  quota: { points: number; period: 'DAY' | 'MONTH' } | null,
): Promise<number> {
  // The same matching as revokeApiKey: the id, the prefix as key:list prints it, or the whole key.
  const { id, prefix, hash } = revokeTarget(idOrPrefix);
  if (!id && !prefix && !hash) return 0;
  const r = await prisma.apiKey.updateMany({
    where: { revokedAt: null, OR: [...(prefix ? [{ prefix }] : []), ...(id ? [{ id }] : []), ...(hash ? [{ keyHash: hash }] : [])] },
    data: { quotaPoints: quota ? BigInt(quota.points) : null, quotaPeriod: quota?.period ?? null },
  });
  return r.count;
}

/** The channel on which a revocation is announced (every gateway LISTENs; see RevocationWatcher). */
export const REVOKED_CHANNEL = 'api_key_revoked';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What a created key looks like: kind, underscore, 24 random bytes in base64url. */
const FULL_KEY = /^(pk|sk)_[A-Za-z0-9_-]{32}$/;
/** Length of the stored display prefix (`sk_` + 7 characters). */
export const KEY_PREFIX_LENGTH = 10;

/**
 * What `revokeApiKey` matches for a user's input: the key's id, the prefix `key:list` prints
 * (with or without its trailing "…" or "..."), or the whole key (matched by its hash).
 */
export function revokeTarget(input: string): { id: string | null; prefix: string | null; hash: string | null } {
  const s = input.trim().replace(/(\u2026|\.\.\.)$/, '');
  if (UUID.test(s)) return { id: s.toLowerCase(), prefix: null, hash: null };
  if (FULL_KEY.test(s)) return { id: null, prefix: null, hash: hashKey(s) };
  if (s.length === KEY_PREFIX_LENGTH && /^(pk|sk)_[A-Za-z0-9_-]+$/.test(s)) return { id: null, prefix: s, hash: null };
  return { id: null, prefix: null, hash: null };
}

/** Revokes the active key(s) matching `idPrefixOrKey` (see revokeTarget); returns how many. */
export async function revokeApiKey(prisma: PrismaClient, idPrefixOrKey: string): Promise<number> {
  const { id, prefix, hash } = revokeTarget(idPrefixOrKey);
  if (!id && !prefix && !hash) return 0;
  // The database's clock stamps the revocation: gateways compare it with their own reads of now().
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    WITH r AS (
      UPDATE api_keys SET revoked_at = now()
       WHERE revoked_at IS NULL AND (prefix = ${prefix} OR id = ${id}::uuid OR key_hash = ${hash})
      RETURNING id)
    SELECT id::text, pg_notify(${REVOKED_CHANNEL}, id::text)::text AS notified FROM r`;
  return rows.length;
}

/**
 * Resolves bearer tokens to AuthInfo. Hits are cached for a few seconds; a revocation removes the
 * key's entries at once (`invalidate`, called by the RevocationWatcher on every instance).
 */
export class KeyAuthenticator {
  private cache = new Map<string, { auth: AuthInfo | null; until: number }>();
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = 5_000,
  ) {}

  async authenticate(token: string | undefined): Promise<AuthInfo | null> {
    if (!token || token.length > 200 || !/^(pk|sk)_[A-Za-z0-9_-]+$/.test(token)) return null;
    const h = hashKey(token);
    const now = Date.now();
    const hit = this.cache.get(h);
    if (hit && hit.until > now) return hit.auth;
    const row = await this.prisma.apiKey.findUnique({ where: { keyHash: h } });
    const auth: AuthInfo | null =
      row && !row.revokedAt
        ? {
            keyId: row.id,
            storeId: row.storeId,
            kind: row.kind as 'pk' | 'sk',
            scopes: row.scopes,
            actor: `key:${row.prefix}`,
            quota:
              row.quotaPoints !== null && row.quotaPeriod
                ? { points: Number(row.quotaPoints), period: row.quotaPeriod as 'DAY' | 'MONTH' }
                : null,
          }
        : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(h, { auth, until: now + this.ttlMs });
    return auth;
  }

  /** Forgets the cached answers for these key ids. */
  invalidate(keyIds: Iterable<string>): void {
    const ids = new Set(keyIds);
    for (const [h, e] of this.cache) if (e.auth && ids.has(e.auth.keyId)) this.cache.delete(h);
  }
}
