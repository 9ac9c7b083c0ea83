/**
 * The board's live connection: graphql-ws with both subscriptions, resumed from the latest cursors
 * on reconnect (with backoff), the snapshot once the socket is up, and a rejected key told apart.
 */
import { createClient, type Client } from 'graphql-ws/client';
import { endpoints } from '../shared/key';
import { catchUp, loadSnapshot, type GraphQLRequestError } from './data';
import { $, feed, setConnection, showError } from './dom';
import { ON_CHANGE, ON_STATUS } from './queries';
import { schedule } from './render';
import { addMove, resetState, session, state, upsertLevel } from './state';
import { STATUS_LABEL, type ChangedEvent, type StatusEvent } from './types';

let client: Client | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let retryDelay = 1000;

function onInventoryChanged(e: ChangedEvent) {
  state.cursors.inventory = e.cursor;
  const level = upsertLevel(e.inventoryLevel);
  const delta = e.after.onHand - e.before.onHand - (e.after.reserved - e.before.reserved);
  addMove(level.sku, Date.parse(e.occurredAt), delta);
  if (delta !== 0) feed(`${level.sku} @ ${level.warehouse.code}: ${delta > 0 ? '+' : ''}${delta} (${e.reason.toLowerCase()})`);
  schedule();
}

function onStatusChanged(e: StatusEvent) {
  state.cursors.status = e.cursor;
  const level = upsertLevel(e.inventoryLevel);
  feed(`${level.sku} @ ${level.warehouse.code}: ${STATUS_LABEL[e.previousStatus]} →`, e.status);
  schedule();
}

function closeCode(err: unknown): number | null {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'number'
    ? (err as { code: number }).code
    : null;
}

function errorCode(err: unknown): string | undefined {
  return Array.isArray(err) ? (err[0] as { extensions?: { code?: string } })?.extensions?.code : undefined;
}

/** Subscribes both streams (resuming after the last cursors); any failure reconnects with backoff. */
function subscribe(gen: number) {
  client?.dispose();
  const { ws } = endpoints('graphql');
  let failed = false;
  const c = createClient({
    url: ws,
    connectionParams: { Authorization: `Bearer ${state.key}` },
    lazy: false,
    retryAttempts: 0, // reconnects are ours, so that they resume from the latest cursors
    keepAlive: 20_000,
    onNonLazyError: () => undefined,
    on: {
      connected: () => {
        if (gen !== session.generation) return;
        retryDelay = 1000;
        connected(gen);
      },
    },
  });
  client = c;
  const fail = (err: unknown) => {
    if (failed || gen !== session.generation) return;
    failed = true;
    c.dispose();
    const code = closeCode(err);
    if (code === 4403 || code === 4401 || errorCode(err) === 'UNAUTHENTICATED' || errorCode(err) === 'FORBIDDEN') {
      setConnection('denied', 'API key rejected');
      showError('The API key was rejected (invalid, revoked, or without the inventory:read scope). Enter another one above.');
      return;
    }
    if (errorCode(err) === 'CURSOR_EXPIRED') {
      // Too long away: re-read everything and follow live events from now.
      state.cursors.inventory = state.cursors.status = null;
      session.snapshotLoaded = false;
    }
    setConnection('offline', `offline, retrying in ${Math.round(retryDelay / 1000)} s`);
    retryTimer = setTimeout(() => subscribe(gen), retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15_000);
  };
  const sink = <T>(onData: (v: T) => void) => ({
    next: (v: { data?: Record<string, unknown> | null; errors?: unknown }) => {
      if (gen !== session.generation) return;
      if (v.errors) return fail(v.errors);
      const value = v.data && Object.values(v.data)[0];
      if (value) onData(value as T);
    },
    error: fail,
    complete: () => fail(new Error('subscription completed')),
  });
  c.subscribe<Record<string, unknown>>(
    { query: ON_CHANGE, variables: { after: state.cursors.inventory } },
    sink<ChangedEvent>(onInventoryChanged),
  );
  c.subscribe<Record<string, unknown>>(
    { query: ON_STATUS, variables: { after: state.cursors.status } },
    sink<StatusEvent>(onStatusChanged),
  );
}

/** Once the socket is up (and the subscriptions sent), read the state if not read yet. */
async function connected(gen: number) {
  if (session.snapshotLoaded) {
    setConnection('live', 'live');
    return;
  }
  setConnection('connecting', 'loading…');
  try {
    await loadSnapshot(gen);
    if (gen !== session.generation) return;
    session.snapshotLoaded = true;
    showError(null);
    setConnection('live', 'live');
    setTimeout(() => void catchUp(gen).catch(() => undefined), 1500);
  } catch (e) {
    if (gen !== session.generation) return;
    const err = e as GraphQLRequestError;
    if (err.status === 401 || err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN') {
      setConnection('denied', 'API key rejected');
      showError(`The API key was rejected: ${err.message}`);
      client?.dispose();
    } else {
      showError(`Could not load the stock: ${err.message}`);
      setConnection('offline', 'offline');
    }
  }
}

/** Starts over with a key (empty: none): forgets the board, then connects and subscribes. */
export function start(key: string) {
  session.generation++;
  if (retryTimer) clearTimeout(retryTimer);
  client?.dispose();
  client = null;
  resetState(key);
  $<HTMLInputElement>('api-key-input').value = key;
  schedule();
  if (!key) {
    setConnection('nokey', 'no API key');
    showError(null);
    return;
  }
  setConnection('connecting', 'connecting…');
  subscribe(session.generation);
}
