/** Sealed cursors: round trips, and every alteration or foreign scope refused (src/graphql/cursor-seal.ts). */
import crypto from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config';
import { CursorError, CursorSealer, deriveCursorKey, MAX_CURSOR_CHARS, type CursorScope } from '../../src/graphql/cursor-seal';
import { rng } from '../helpers/rng';

const key = deriveCursorKey('unit-test-secret-unit-test-secret-0123456789');
const sealer = new CursorSealer(key);
const scope: CursorScope = { storeId: '6f1c2a4e-8d3b-4c1a-9e2f-0a1b2c3d4e5f', connection: 'InventoryLevel', sortKey: 'ON_HAND' };
const id = 'b3d0c9a2-1e4f-4a6b-8c7d-9e0f1a2b3c4d';

describe('cursor sealing', () => {
  it('round-trips every kind of position', () => {
    const cases: [CursorScope, { value: string | number; id: string }, 'text' | 'time' | 'int', 'uuid' | 'int'][] = [
      [scope, { value: 1234, id }, 'int', 'uuid'],
      [scope, { value: 0, id }, 'int', 'uuid'],
      [scope, { value: -5, id }, 'int', 'uuid'],
      [scope, { value: Number.MAX_SAFE_INTEGER, id }, 'int', 'uuid'],
      [{ ...scope, sortKey: 'SKU' }, { value: 'TSHIRT-L', id }, 'text', 'uuid'],
      [{ ...scope, sortKey: 'SKU' }, { value: '', id }, 'text', 'uuid'],
      [{ ...scope, connection: 'Product', sortKey: 'NAME' }, { value: 'Ünïcødé 👕 '.repeat(20), id }, 'text', 'uuid'],
      [{ ...scope, sortKey: 'UPDATED_AT' }, { value: '2026-11-30T03:21:45.123Z', id }, 'time', 'uuid'],
      [{ ...scope, connection: 'StockMovement', sortKey: 'ID' }, { value: 987654321, id: '987654321' }, 'int', 'int'],
    ];
    for (const [s, pos, vk, ik] of cases) expect(sealer.open(s, sealer.seal(s, pos, vk, ik), vk, ik)).toEqual(pos);
  });

  it('reveals nothing: random IV (two seals differ), no plaintext in the bytes, short', () => {
    const a = sealer.seal(scope, { value: 424242, id }, 'int', 'uuid');
    const b = sealer.seal(scope, { value: 424242, id }, 'int', 'uuid');
    expect(a).not.toBe(b);
    const raw = Buffer.from(a, 'base64url');
    expect(raw.includes(Buffer.from(id.replace(/-/g, ''), 'hex'))).toBe(false);
    expect(raw.toString('latin1')).not.toMatch(/424242|ON_HAND|InventoryLevel/);
    expect(a.length).toBeLessThanOrEqual(72);
    const sku = sealer.seal({ ...scope, sortKey: 'SKU' }, { value: 'SECRET-SKU', id }, 'text', 'uuid');
    expect(Buffer.from(sku, 'base64url').toString('latin1')).not.toContain('SECRET');
  });

  it('never reuses an IV (across refills of the IV pool)', () => {
    const scoped = sealer.scoped(scope, 'int', 'uuid');
    const ivs = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const c = scoped.seal({ value: i, id });
      ivs.add(Buffer.from(c, 'base64url').subarray(1, 13).toString('hex'));
      if (i % 997 === 0) expect(scoped.open(c)).toEqual({ value: i, id });
    }
    expect(ivs.size).toBe(5000);
  });

  it('refuses every single-bit flip and every truncation', () => {
    const c = sealer.seal(scope, { value: 17, id }, 'int', 'uuid');
    const raw = Buffer.from(c, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = Buffer.from(raw);
        t[i] ^= 1 << bit;
        expect(() => sealer.open(scope, t.toString('base64url'), 'int', 'uuid')).toThrow(CursorError);
      }
    }
    for (let n = 0; n < raw.length; n++) {
      expect(() => sealer.open(scope, raw.subarray(0, n).toString('base64url'), 'int', 'uuid')).toThrow(CursorError);
    }
    for (let n = 1; n < c.length; n++) expect(() => sealer.open(scope, c.slice(0, n), 'int', 'uuid')).toThrow(CursorError);
  });

  it('refuses a cursor of another store, connection or sort key (associated data), or sealed with another key', () => {
    const c = sealer.seal(scope, { value: 17, id }, 'int', 'uuid');
    for (const other of [
      { ...scope, storeId: 'ffffffff-8d3b-4c1a-9e2f-0a1b2c3d4e5f' },
      { ...scope, connection: 'Product' },
      { ...scope, sortKey: 'AVAILABLE' },
    ]) {
      expect(() => sealer.open(other, c, 'int', 'uuid')).toThrow(CursorError);
    }
    const otherKey = new CursorSealer(deriveCursorKey(crypto.randomBytes(32)));
    expect(() => otherKey.open(scope, c, 'int', 'uuid')).toThrow(CursorError);
    expect(sealer.open(scope, c, 'int', 'uuid')).toEqual({ value: 17, id });
  });

  it('refuses garbage: old JSON cursors, non-base64url, padding, overlong, random bytes', () => {
    const legacy = Buffer.from(JSON.stringify({ c: 'InventoryLevel', s: 'ON_HAND', v: 5, i: id })).toString('base64url');
    const garbage = ['', 'garbage!', legacy, `${legacy}==`, 'A'.repeat(MAX_CURSOR_CHARS + 1), '////', 'AQ', 'null', '\u0000'];
    const next = rng(42);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 120) }, () => Math.floor(next() * 256)));
      if (i % 2) bytes[0] = 1; // the right version byte
      garbage.push(bytes.toString('base64url'));
    }
    for (const g of garbage) expect(() => sealer.open(scope, g, 'int', 'uuid')).toThrow(CursorError);
  });

  it('derives the same key from the same secret and refuses keys of the wrong size', () => {
    expect(deriveCursorKey('x'.repeat(40)).equals(deriveCursorKey('x'.repeat(40)))).toBe(true);
    expect(deriveCursorKey('x'.repeat(40)).equals(deriveCursorKey('y'.repeat(40)))).toBe(false);
    expect(() => new CursorSealer(Buffer.alloc(16))).toThrow();
  });
});

describe('CURSOR_SECRET', () => {
  it('is optional, and validated when given', () => {
    expect(loadConfig({}).cursorSecret).toBeNull();
    expect(loadConfig({ CURSOR_SECRET: 'a'.repeat(32) }).cursorSecret).toBe('a'.repeat(32));
    expect(() => loadConfig({ CURSOR_SECRET: 'short' })).toThrow(
      /^Invalid configuration: CURSOR_SECRET must be 32 to 1024 characters without spaces .*got 5 characters$/,
    );
    expect(() => loadConfig({ CURSOR_SECRET: `${'a'.repeat(20)} ${'b'.repeat(20)}` })).toThrow(ConfigError);
  });
});
