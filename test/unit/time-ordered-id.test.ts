/** Time-ordered ids (UUID version 7) of reservations and their lines (src/db/time-ordered-id.ts). */
import { timeOfId, timeOrderedId } from '../../src/db/time-ordered-id';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedId', () => {
  it('is a version-7 RFC 9562 UUID carrying its millisecond time', () => {
    for (const ms of [0, 1, 1_764_460_800_123, 2 ** 48 - 1]) {
      const id = timeOrderedId(ms);
      expect(id).toMatch(UUID_V7);
      expect(timeOfId(id)).toBe(ms);
    }
    const before = Date.now();
    const now = timeOfId(timeOrderedId())!;
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('sorts by time across milliseconds, as text and as PostgreSQL compares uuids (bytewise)', () => {
    const ids = [5, 1_000, 1_001, 70_000_000_000, 1_764_460_800_000, 1_764_460_800_001].map((ms) => timeOrderedId(ms));
    expect([...ids].sort()).toEqual(ids);
    const bytes = ids.map((id) => Buffer.from(id.replace(/-/g, ''), 'hex'));
    for (let i = 1; i < bytes.length; i++) expect(Buffer.compare(bytes[i - 1], bytes[i])).toBe(-1);
  });

  it('keeps 74 random bits: ids of one millisecond differ', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedId(1_764_460_800_000)));
    expect(ids.size).toBe(10_000);
  });

  it('refuses a time that does not fit 48 bits', () => {
    for (const ms of [-1, 2 ** 48, 1.5, Number.NaN]) expect(() => timeOrderedId(ms)).toThrow(RangeError);
  });

  it('reads no time out of other ids', () => {
    expect(timeOfId('b3d0c9a2-1e4f-4a6b-8c7d-9e0f1a2b3c4d')).toBeNull();
    expect(timeOfId('not an id')).toBeNull();
  });
});
