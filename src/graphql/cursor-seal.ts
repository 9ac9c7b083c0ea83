/**
 * Sealed pagination cursors: AES-256-GCM with a random 96-bit IV, so a cursor reveals nothing about
 * the row it points at (not even its sort value) and cannot be forged or altered. The associated
 * data binds a cursor to the store, the connection and the sort key that issued it: a cursor
 * replayed against another store, connection or sort key fails authentication like a tampered one.
 *
 * Wire format (base64url): version byte 0x01 ‖ IV (12) ‖ ciphertext ‖ tag (16). The plaintext is
 * the keyset position, packed: the row id (16-byte UUID, or an 8-byte integer for `ID` sorts), then
 * the sort value (8-byte integer, 8-byte epoch milliseconds for times, or UTF-8 text).
 *
 * The key comes from CURSOR_SECRET, or else from a random secret generated once and stored in the
 * `cursor_keys` table, so every instance on the same database seals and opens the same cursors.
 * It is loaded at startup (`loadCursorKey`, after the migrations) and looked up by the Database.
 */
import crypto from 'node:crypto';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { toGlobalId } from './ids';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest cursor accepted before any decoding (a 255-character name of 4-byte characters fits). */
export const MAX_CURSOR_CHARS = 2048;

export type SortValueKind = 'text' | 'time' | 'int';
export type IdKind = 'uuid' | 'int';

/** What a cursor is bound to (authenticated, never stored in the cursor). */
export interface CursorScope {
  storeId: string;
  connection: string;
  sortKey: string;
}

export interface CursorPosition {
  value: string | number;
  id: string;
}

export class CursorError extends Error {}

/** Derives the 32-byte AES key from a secret (CURSOR_SECRET, or the stored random one). */
export function deriveCursorKey(secret: string | Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', secret, Buffer.alloc(0), 'inventory-gateway cursor seal v1', 32));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function associatedData(scope: CursorScope): Buffer {
  // NUL cannot occur in any of them (store ids are UUIDs, the others are our constants).
  return Buffer.from(`v${VERSION}\u0000${scope.storeId}\u0000${scope.connection}\u0000${scope.sortKey}`, 'utf8');
}

function int64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

function pack(pos: CursorPosition, valueKind: SortValueKind, idKind: IdKind): Buffer {
  let id: Buffer;
  if (idKind === 'uuid') {
    if (!UUID.test(pos.id)) throw new CursorError(`not a uuid: ${pos.id}`);
    id = Buffer.from(pos.id.replace(/-/g, ''), 'hex');
  } else {
    if (!/^\d{1,18}$/.test(pos.id)) throw new CursorError(`not an integer id: ${pos.id}`);
    id = int64(BigInt(pos.id));
  }
  let value: Buffer;
  if (valueKind === 'text') {
    if (typeof pos.value !== 'string') throw new CursorError('text sort value expected');
    value = Buffer.from(pos.value, 'utf8');
  } else if (valueKind === 'time') {
    const ms = typeof pos.value === 'string' ? Date.parse(pos.value) : NaN;
    if (Number.isNaN(ms)) throw new CursorError('time sort value expected');
    value = int64(ms);
  } else {
    if (typeof pos.value !== 'number' || !Number.isSafeInteger(pos.value)) throw new CursorError('integer sort value expected');
    value = int64(pos.value);
  }
  return Buffer.concat([id, value]);
}

function unpack(b: Buffer, valueKind: SortValueKind, idKind: IdKind): CursorPosition {
  const idLen = idKind === 'uuid' ? 16 : 8;
  if (b.length < idLen || (valueKind !== 'text' && b.length !== idLen + 8)) throw new CursorError('bad length');
  let id: string;
  if (idKind === 'uuid') {
    const h = b.subarray(0, 16).toString('hex');
    id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  } else {
    const n = b.readBigInt64BE(0);
    if (n < 0n) throw new CursorError('bad id');
    id = n.toString();
  }
  const rest = b.subarray(idLen);
  if (valueKind === 'text') return { id, value: rest.toString('utf8') };
  const n = rest.readBigInt64BE(0);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new CursorError('bad value');
  return { id, value: valueKind === 'time' ? new Date(Number(n)).toISOString() : Number(n) };
}

/**
 * Random IVs drawn from a pool refilled 4 KiB at a time: one CSPRNG call per 341 cursors instead of
 * one per cursor (the call, not the randomness, is what costs). Every IV is still 96 fresh random
 * bits, used once.
 */
class IvPool {
  private pool = Buffer.alloc(0);
  private at = 0;
  next(): Buffer {
    if (this.at + IV_BYTES > this.pool.length) {
      this.pool = crypto.randomBytes(IV_BYTES * 341);
      this.at = 0;
    }
    const iv = this.pool.subarray(this.at, this.at + IV_BYTES);
    this.at += IV_BYTES;
    return iv;
  }
}

/** Seals and opens the cursors of one scope (store, connection, sort key): the associated data is built once. */
export class ScopedSealer {
  private readonly aad: Buffer;
  constructor(
    private readonly key: crypto.KeyObject,
    private readonly ivs: IvPool,
    scope: CursorScope,
    private readonly valueKind: SortValueKind,
    private readonly idKind: IdKind,
  ) {
    this.aad = Buffer.concat([Buffer.from([VERSION]), associatedData(scope)]);
  }

  seal(pos: CursorPosition): string {
    const plain = pack(pos, this.valueKind, this.idKind);
    const out = Buffer.allocUnsafe(1 + IV_BYTES + plain.length + TAG_BYTES);
    out[0] = VERSION;
    const iv = this.ivs.next();
    iv.copy(out, 1);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.aad);
    // GCM is a stream mode: update() returns as many bytes as it is given, final() none.
    cipher.update(plain).copy(out, 1 + IV_BYTES);
    cipher.final();
    cipher.getAuthTag().copy(out, 1 + IV_BYTES + plain.length);
    return out.toString('base64url');
  }

  /** The position sealed in `cursor`, or a CursorError (garbage, truncated, tampered, or bound to another scope). */
  open(cursor: string): CursorPosition {
    if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor))
      throw new CursorError('not a cursor');
    const raw = Buffer.from(cursor, 'base64url');
    // Canonical encoding only: one string per cursor.
    if (raw.toString('base64url') !== cursor) throw new CursorError('not a cursor');
    if (raw.length < 1 + IV_BYTES + TAG_BYTES + 8 || raw[0] !== VERSION) throw new CursorError('not a cursor');
    const iv = raw.subarray(1, 1 + IV_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const ct = raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES);
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(this.aad);
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(ct), decipher.final()]);
    } catch {
      throw new CursorError('authentication failed');
    }
    return unpack(plain, this.valueKind, this.idKind);
  }
}

/**
 * Masks integer row ids in global ids (stock movements: a database-wide bigserial, whose bare value
 * would show a store how many movements every store made). One AES-256 block of the id (8 bytes)
 * and 8 zero bytes: the same id always gives the same 22-character token, a token reveals nothing
 * of the id, and a made-up token fails the zero check (2^-64). The key is derived from the cursor
 * secret, so every instance on the database agrees.
 */
export class IdMask {
  private readonly key: crypto.KeyObject;
  constructor(cursorKey: Buffer) {
    this.key = crypto.createSecretKey(
      Buffer.from(crypto.hkdfSync('sha256', cursorKey, Buffer.alloc(0), 'inventory-gateway id mask v1', 32)),
    );
  }
  seal(id: string | number | bigint): string {
    const block = Buffer.alloc(16);
    block.writeBigUInt64BE(BigInt(id), 0);
    const c = crypto.createCipheriv('aes-256-ecb', this.key, null).setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]).toString('base64url');
  }
  /** The id in `token` (decimal), or null when it is not a token of this key. */
  open(token: string): string | null {
    if (!/^[A-Za-z0-9_-]{22}$/.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== 16 || raw.toString('base64url') !== token) return null;
    const d = crypto.createDecipheriv('aes-256-ecb', this.key, null).setAutoPadding(false);
    const block = Buffer.concat([d.update(raw), d.final()]);
    if (block.readBigUInt64BE(8) !== 0n) return null;
    return block.readBigUInt64BE(0).toString();
  }
}

/** Seals and opens cursors with one key. */
export class CursorSealer {
  private readonly key: crypto.KeyObject;
  private readonly ivs = new IvPool();
  /** Masked stock-movement ids (see IdMask). */
  readonly movementIds: IdMask;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a cursor key has 32 bytes');
    this.key = crypto.createSecretKey(Buffer.from(key));
    this.movementIds = new IdMask(key);
  }

  /** A sealer for the cursors of one scope (one per connection value: its edges share it). */
  scoped(scope: CursorScope, valueKind: SortValueKind, idKind: IdKind): ScopedSealer {
    return new ScopedSealer(this.key, this.ivs, scope, valueKind, idKind);
  }

  seal(scope: CursorScope, pos: CursorPosition, valueKind: SortValueKind, idKind: IdKind): string {
    return this.scoped(scope, valueKind, idKind).seal(pos);
  }

  open(scope: CursorScope, cursor: string, valueKind: SortValueKind, idKind: IdKind): CursorPosition {
    return this.scoped(scope, valueKind, idKind).open(cursor);
  }
}

/** One sealer per open database (tests run several gateways, on several databases, in one process). */
const sealers = new WeakMap<Database, CursorSealer>();

/**
 * Loads the cursor key for this database: CURSOR_SECRET when set; otherwise the secret stored in
 * `cursor_keys`, created on first start. Race-free across instances starting together: the first
 * INSERT wins and every instance reads the same row back.
 */
export async function loadCursorKey(db: Database, config: Pick<Config, 'cursorSecret'>): Promise<void> {
  if (config.cursorSecret) {
    sealers.set(db, new CursorSealer(deriveCursorKey(config.cursorSecret)));
    return;
  }
  await db.pool.query(`INSERT INTO cursor_keys (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, [crypto.randomBytes(32)]);
  const { rows } = await db.pool.query<{ secret: Buffer }>(`SELECT secret FROM cursor_keys WHERE id = 1`);
  if (!rows[0] || rows[0].secret.length < 32) throw new Error('cursor_keys holds no valid secret');
  sealers.set(db, new CursorSealer(deriveCursorKey(rows[0].secret)));
}

/** The sealer of a database whose key was loaded at startup. */
export function cursorSealer(db: Database): CursorSealer {
  const s = sealers.get(db);
  if (!s) throw new Error('the cursor key was not loaded (loadCursorKey at startup)');
  return s;
}

/** A stock movement's global id: its id masked with the database's key (IdMask), so it says nothing about other stores. */
export function movementGlobalId(db: Database, id: string | number | bigint): string {
  return toGlobalId('StockMovement', cursorSealer(db).movementIds.seal(id));
}
