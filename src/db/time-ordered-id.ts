/**
 * Time-ordered UUIDs (RFC 9562 version 7) for the rows of insert-heavy tables (reservations and
 * their lines): a 48-bit Unix time in milliseconds, then 74 random bits.
 *
 * Why: a random (version 4) key lands on a random leaf of every index that leads with it. Once such
 * an index outgrows shared_buffers, each insert reads a leaf back and dirties it, and after every
 * checkpoint the first change to each leaf writes a full-page image to the WAL, so writes slow down
 * as the table grows (issue 25's sustained run). Keys that grow with time are all inserted at the
 * right edge of the index: one hot leaf, whatever the table's size.
 *
 * The database makes the same ids with `uuid_v7()` (migration 20261202200000_time_ordered_ids),
 * the default of reservations.id and reservation_lines.id. Ids stay opaque to clients; they reveal
 * the creation time to the millisecond, which `createdAt` already states.
 */
import { randomUUID } from 'node:crypto';

/** A version-7 UUID for time `ms` (default now): its first 48 bits are `ms`, the rest as randomUUID()'s. */
export function timeOrderedId(ms = Date.now()): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 2 ** 48) throw new RangeError(`not a 48-bit millisecond time: ${ms}`);
  const t = ms.toString(16).padStart(12, '0');
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; keep its random bits and RFC variant after the version digit.
  return `${t.slice(0, 8)}-${t.slice(8)}-7${randomUUID().slice(15)}`;
}

/** The millisecond time of a version-7 UUID, or null for any other id. */
export function timeOfId(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return null;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
