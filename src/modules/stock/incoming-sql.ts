/**
 * THE definition of a level's `incoming` (issue 22: derive, don't store): the units of its open
 * inbound lines (quantity − received − cancelled, floored at 0) plus the units in transit to it
 * (shipped − received − lost), as the SQL function inventory_level_incoming() of
 * prisma/migrations/20261201700000_inbound_transfers.
 *
 * inventory_levels.incoming is the stored-derived copy of this value. Only the stock writer sets it,
 * to INCOMING_OF(store, level) evaluated in the same statement that records the change (ledger row
 * incoming before/after, INVENTORY_UPDATED event), after the caller changed the lines and locked
 * the level (lockLevels(), in id order) in an earlier statement of the same transaction, so the
 * statement's snapshot sees every committed line of the level. Why a copy at all: reads, sorts,
 * totals, CSV and the guards of the group-committed reservation batch read a level's counters as
 * one row (no aggregate over lines per level on every read), and a PREORDER guard can read it on
 * the locked row. test/helpers/invariants.ts checks `incoming = INCOMING_OF(store_id, id)` for every level.
 */

/** SQL: a level's incoming, computed from its lines (the one definition). */
export const INCOMING_OF = (storeIdSql: string, levelIdSql: string) => `inventory_level_incoming(${storeIdSql}, ${levelIdSql})`;

/** SQL: the incoming of level row `l` as reads, status, events and guards use it (the writer's copy). */
export const levelIncoming = (l = 'l') => `${l}.incoming`;
