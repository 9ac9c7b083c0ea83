/** The board's reads over HTTP: the snapshot at start, and the catch-up after subscribing. */
import { endpoints } from '../shared/key';
import { CATCH_UP, LOAD_LEVELS, LOAD_MOVES, LOAD_WAREHOUSES } from './queries';
import { schedule } from './render';
import { addMove, dirty, session, state, upsertLevel } from './state';
import { MAX_LEVELS, type RawLevel, type Warehouse } from './types';

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    public readonly code: string | undefined,
    public readonly status: number,
  ) {
    super(message);
  }
}

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(endpoints('graphql').http, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${state.key}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = await res.json();
  } catch {
    throw new GraphQLRequestError(`HTTP ${res.status}`, undefined, res.status);
  }
  if (body.errors?.length) throw new GraphQLRequestError(body.errors[0].message, body.errors[0].extensions?.code, res.status);
  return body.data as T;
}

export async function loadSnapshot(gen: number) {
  const [wh, moves] = await Promise.all([
    gql<{ warehouses: { nodes: Warehouse[] } }>(LOAD_WAREHOUSES),
    gql<{ stockMovements: { nodes: { quantityDelta: number; reservedDelta: number; createdAt: string; variant: { sku: string } }[] } }>(
      LOAD_MOVES,
    ).catch(() => null),
  ]);
  if (gen !== session.generation) return;
  for (const w of wh.warehouses.nodes) state.warehouses.set(w.id, w);
  let after: string | null = null;
  let count = 0;
  for (;;) {
    const page: { inventoryLevels: { nodes: RawLevel[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(
      LOAD_LEVELS,
      { after },
    );
    if (gen !== session.generation) return;
    for (const l of page.inventoryLevels.nodes) upsertLevel(l);
    count += page.inventoryLevels.nodes.length;
    if (!page.inventoryLevels.pageInfo.hasNextPage) break;
    if (count >= MAX_LEVELS) {
      state.partial = true;
      break;
    }
    after = page.inventoryLevels.pageInfo.endCursor;
  }
  // Seed the sparklines with the latest movements (oldest first); live events append to them.
  for (const m of (moves?.stockMovements.nodes ?? []).slice().reverse()) {
    addMove(m.variant.sku, Date.parse(m.createdAt), m.quantityDelta - m.reservedDelta);
  }
  dirty.all = true;
  schedule();
}

/**
 * The subscriptions start live (no cursor yet), and the server registers them while the snapshot
 * is read: a change in between would be in neither. Re-reading the levels updated since the newest
 * one of the snapshot (server clock) closes that gap; versions keep newer rows from going back.
 */
export async function catchUp(gen: number) {
  let since = '';
  for (const l of state.levels.values()) if (l.updatedAt > since) since = l.updatedAt;
  if (!since) since = new Date(Date.now() - 60_000).toISOString();
  let after: string | null = null;
  for (let page = 0; page < 8; page++) {
    const r: { inventoryLevels: { nodes: RawLevel[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(
      CATCH_UP,
      { since, after },
    );
    if (gen !== session.generation) return;
    for (const l of r.inventoryLevels.nodes) upsertLevel(l);
    if (!r.inventoryLevels.pageInfo.hasNextPage) break;
    after = r.inventoryLevels.pageInfo.endCursor;
  }
  schedule();
}
