/**
 * Live stock board: stock per warehouse, the low / critical / out-of-stock lists and a sparkline of
 * recent movements per SKU. Loads the current state over HTTP, then follows stockStatusChanged and
 * inventoryChanged over graphql-ws (resuming with `after` on reconnect). Plain TS + DOM.
 */
import { createClient, type Client } from 'graphql-ws/client';
import { currentKey, endpoints, saveKey } from '../shared/key';
import { sparkline } from './sparkline';
import './board.css';

type Status = 'IN_STOCK' | 'LOW_STOCK' | 'CRITICAL' | 'OUT_OF_STOCK';
const ALERTS: Status[] = ['LOW_STOCK', 'CRITICAL', 'OUT_OF_STOCK'];
const STATUS_LABEL: Record<Status, string> = { IN_STOCK: 'In stock', LOW_STOCK: 'Low', CRITICAL: 'Critical', OUT_OF_STOCK: 'Out of stock' };
/** Most levels loaded at start (250 a page); beyond that the board says it is partial. */
const MAX_LEVELS = 2000;
/** Movements kept per SKU for its sparkline. */
const SPARK_POINTS = 24;

interface Warehouse {
  id: string;
  code: string;
  name: string;
}

/** A level as the board keeps it: the API's level with its variant flattened to the sku. */
type Level = Omit<RawLevel, 'variant'> & { sku: string };

interface Move {
  at: number;
  delta: number;
}

const LEVEL = `id onHand reserved available status lowStockThreshold criticalThreshold version updatedAt
  variant { sku } warehouse { id code name }`;

const LOAD_LEVELS = `query BoardLevels($after: String) {
  inventoryLevels(first: 250, after: $after, sortKey: SKU) { nodes { ${LEVEL} } pageInfo { hasNextPage endCursor } }
}`;
const CATCH_UP = `query BoardCatchUp($since: DateTimeISO!, $after: String) {
  inventoryLevels(first: 250, after: $after, sortKey: UPDATED_AT, filter: { updatedSince: $since }) {
    nodes { ${LEVEL} } pageInfo { hasNextPage endCursor }
  }
}`;
const LOAD_WAREHOUSES = `query BoardWarehouses { warehouses(first: 250, sortKey: PRIORITY) { nodes { id code name } } }`;
const LOAD_MOVES = `query BoardMoves {
  stockMovements(first: 250, reverse: true) { nodes { quantityDelta reservedDelta createdAt variant { sku } } }
}`;
const ON_CHANGE = `subscription BoardInventory($after: String) {
  inventoryChanged(after: $after) {
    cursor occurredAt reason
    before { onHand reserved }
    after { onHand reserved }
    inventoryLevel { ${LEVEL} }
  }
}`;
const ON_STATUS = `subscription BoardStatus($after: String) {
  stockStatusChanged(after: $after) {
    cursor occurredAt previousStatus status available
    inventoryLevel { ${LEVEL} }
  }
}`;

// ---------------------------------------------------------------- state

const state = {
  key: '',
  warehouses: new Map<string, Warehouse>(), // by id
  levels: new Map<string, Level>(), // by id
  moves: new Map<string, Move[]>(), // by SKU
  cursors: { inventory: null as string | null, status: null as string | null },
  partial: false,
};

const dirtyLevels = new Set<string>();
let dirtyAll = true;
let generation = 0; // bumped on every (re)connect with a new key: stale callbacks do nothing

// ---------------------------------------------------------------- DOM helpers

const $ = <T extends HTMLElement>(testid: string) => document.querySelector<T>(`[data-testid="${testid}"]`)!;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

function badge(status: Status): HTMLElement {
  return h('span', { class: `badge badge-${status}`, 'data-testid': 'status', 'data-status': status }, STATUS_LABEL[status]);
}

function setConnection(kind: 'connecting' | 'live' | 'offline' | 'nokey' | 'denied', text: string) {
  const el = $('connection');
  el.className = `conn conn-${kind}`;
  el.dataset.state = kind;
  el.textContent = text;
}

function showError(message: string | null) {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message ?? '';
}

// ---------------------------------------------------------------- data

class GraphQLRequestError extends Error {
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
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${state.key}` },
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

interface RawLevel {
  id: string;
  onHand: number;
  reserved: number;
  available: number;
  status: Status;
  lowStockThreshold: number;
  criticalThreshold: number;
  version: number;
  updatedAt: string;
  variant: { sku: string };
  warehouse: Warehouse;
}

/** Applies a level as read now; an older version than the one shown is ignored. */
function upsertLevel(raw: RawLevel): Level {
  const wh = state.warehouses.get(raw.warehouse.id) ?? raw.warehouse;
  if (!state.warehouses.has(wh.id)) {
    state.warehouses.set(wh.id, { id: wh.id, code: wh.code, name: wh.name });
    dirtyAll = true;
  }
  const prev = state.levels.get(raw.id);
  if (prev && prev.version > raw.version) return prev;
  const { variant, ...rest } = raw;
  const level: Level = { ...rest, sku: variant.sku, warehouse: state.warehouses.get(wh.id)! };
  state.levels.set(level.id, level);
  if (!prev) dirtyAll = true;
  else if (prev.status !== level.status) flash.add(level.id);
  dirtyLevels.add(level.id);
  return level;
}

function addMove(sku: string, at: number, delta: number) {
  if (delta === 0) return;
  const list = state.moves.get(sku) ?? [];
  list.push({ at, delta });
  list.sort((a, b) => a.at - b.at);
  if (list.length > SPARK_POINTS) list.splice(0, list.length - SPARK_POINTS);
  state.moves.set(sku, list);
}

async function loadSnapshot(gen: number) {
  const [wh, moves] = await Promise.all([
    gql<{ warehouses: { nodes: Warehouse[] } }>(LOAD_WAREHOUSES),
    gql<{ stockMovements: { nodes: { quantityDelta: number; reservedDelta: number; createdAt: string; variant: { sku: string } }[] } }>(LOAD_MOVES).catch(() => null),
  ]);
  if (gen !== generation) return;
  for (const w of wh.warehouses.nodes) state.warehouses.set(w.id, w);
  let after: string | null = null;
  let count = 0;
  for (;;) {
    const page: { inventoryLevels: { nodes: RawLevel[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(LOAD_LEVELS, { after });
    if (gen !== generation) return;
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
  dirtyAll = true;
  schedule();
}

/**
 * The subscriptions start live (no cursor yet), and the server registers them while the snapshot
 * is read: a change in between would be in neither. Re-reading the levels updated since the newest
 * one of the snapshot (server clock) closes that gap; versions keep newer rows from going back.
 */
async function catchUp(gen: number) {
  let since = '';
  for (const l of state.levels.values()) if (l.updatedAt > since) since = l.updatedAt;
  if (!since) since = new Date(Date.now() - 60_000).toISOString();
  let after: string | null = null;
  for (let page = 0; page < 8; page++) {
    const r: { inventoryLevels: { nodes: RawLevel[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gql(CATCH_UP, { since, after });
    if (gen !== generation) return;
    for (const l of r.inventoryLevels.nodes) upsertLevel(l);
    if (!r.inventoryLevels.pageInfo.hasNextPage) break;
    after = r.inventoryLevels.pageInfo.endCursor;
  }
  schedule();
}

// ---------------------------------------------------------------- live updates

let client: Client | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let retryDelay = 1000;

interface ChangedEvent {
  cursor: string;
  occurredAt: string;
  reason: string;
  before: { onHand: number; reserved: number };
  after: { onHand: number; reserved: number };
  inventoryLevel: RawLevel;
}

interface StatusEvent {
  cursor: string;
  occurredAt: string;
  previousStatus: Status;
  status: Status;
  available: number;
  inventoryLevel: RawLevel;
}

function feed(text: string, status?: Status) {
  const list = $('feed');
  const item = h('li', { 'data-testid': 'feed-item' }, h('time', {}, new Date().toLocaleTimeString()), ' ', text);
  if (status) item.append(' ', badge(status));
  list.prepend(item);
  while (list.children.length > 30) list.lastElementChild!.remove();
}

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
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'number' ? (err as { code: number }).code : null;
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
        if (gen !== generation) return;
        retryDelay = 1000;
        connected(gen);
      },
    },
  });
  client = c;
  const fail = (err: unknown) => {
    if (failed || gen !== generation) return;
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
      snapshotLoaded = false;
    }
    setConnection('offline', `offline, retrying in ${Math.round(retryDelay / 1000)} s`);
    retryTimer = setTimeout(() => subscribe(gen), retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15_000);
  };
  const sink = <T>(onData: (v: T) => void) => ({
    next: (v: { data?: Record<string, unknown> | null; errors?: unknown }) => {
      if (gen !== generation) return;
      if (v.errors) return fail(v.errors);
      const value = v.data && Object.values(v.data)[0];
      if (value) onData(value as T);
    },
    error: fail,
    complete: () => fail(new Error('subscription completed')),
  });
  c.subscribe<Record<string, unknown>>({ query: ON_CHANGE, variables: { after: state.cursors.inventory } }, sink<ChangedEvent>(onInventoryChanged));
  c.subscribe<Record<string, unknown>>({ query: ON_STATUS, variables: { after: state.cursors.status } }, sink<StatusEvent>(onStatusChanged));
}

let snapshotLoaded = false;

/** Once the socket is up (and the subscriptions sent), read the state if not read yet. */
async function connected(gen: number) {
  if (snapshotLoaded) {
    setConnection('live', 'live');
    return;
  }
  setConnection('connecting', 'loading…');
  try {
    await loadSnapshot(gen);
    if (gen !== generation) return;
    snapshotLoaded = true;
    showError(null);
    setConnection('live', 'live');
    setTimeout(() => void catchUp(gen).catch(() => undefined), 1500);
  } catch (e) {
    if (gen !== generation) return;
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

function start(key: string) {
  generation++;
  if (retryTimer) clearTimeout(retryTimer);
  client?.dispose();
  client = null;
  state.key = key;
  state.levels.clear();
  state.moves.clear();
  state.cursors = { inventory: null, status: null };
  state.partial = false;
  snapshotLoaded = false;
  dirtyAll = true;
  $<HTMLInputElement>('api-key-input').value = key;
  schedule();
  if (!key) {
    setConnection('nokey', 'no API key');
    showError(null);
    return;
  }
  setConnection('connecting', 'connecting…');
  subscribe(generation);
}

// ---------------------------------------------------------------- rendering

const rows = new Map<string, HTMLTableRowElement>();
const flash = new Set<string>();
let scheduled = false;

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

function thresholds(l: Level): string {
  const parts = [];
  if (l.lowStockThreshold > 0) parts.push(`low ≤ ${l.lowStockThreshold}`);
  if (l.criticalThreshold > 0) parts.push(`critical ≤ ${l.criticalThreshold}`);
  return parts.join(', ') || '—';
}

function fillRow(tr: HTMLTableRowElement, l: Level) {
  tr.dataset.status = l.status;
  tr.className = `row-${l.status}`;
  // data-label: the column's name, shown beside the value where the table becomes cards (phones).
  tr.replaceChildren(
    h('td', { class: 'sku' }, l.sku),
    h('td', { class: 'num', 'data-label': 'On hand' }, String(l.onHand)),
    h('td', { class: 'num', 'data-label': 'Reserved' }, String(l.reserved)),
    h('td', { class: 'num', 'data-label': 'Available', 'data-testid': 'available' }, String(l.available)),
    h('td', { class: 'status' }, badge(l.status)),
    h('td', { class: 'muted thresholds', 'data-label': 'Thresholds' }, thresholds(l)),
  );
  if (flash.delete(l.id)) {
    tr.classList.add('flash');
    setTimeout(() => tr.classList.remove('flash'), 2500);
  }
}

function bySku(a: Level, b: Level) {
  return a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.warehouse.code.localeCompare(b.warehouse.code);
}

/** Per warehouse: "n SKUs · m available", refreshed on every render (rows update in place). */
const totals = new Map<string, HTMLElement>();
function renderTotals() {
  const sum = new Map<string, { skus: number; units: number }>();
  for (const l of state.levels.values()) {
    const t = sum.get(l.warehouse.id) ?? { skus: 0, units: 0 };
    t.skus++;
    t.units += l.available;
    sum.set(l.warehouse.id, t);
  }
  for (const [id, el] of totals) {
    const t = sum.get(id) ?? { skus: 0, units: 0 };
    el.textContent = `${t.skus} ${t.skus === 1 ? 'SKU' : 'SKUs'} · ${t.units} available`;
  }
}

function renderWarehouses() {
  const host = $('warehouses');
  rows.clear();
  totals.clear();
  const perWh = new Map<string, Level[]>();
  for (const l of state.levels.values()) perWh.set(l.warehouse.id, [...(perWh.get(l.warehouse.id) ?? []), l]);
  const whs = [...state.warehouses.values()].sort((a, b) => a.code.localeCompare(b.code));
  const sections = whs.map((w) => {
    const levels = (perWh.get(w.id) ?? []).sort(bySku);
    const body = h('tbody');
    for (const l of levels) {
      const tr = h('tr', { 'data-testid': 'level-row', 'data-level-id': l.id, 'data-sku': l.sku, 'data-warehouse': w.code });
      fillRow(tr, l);
      rows.set(l.id, tr);
      body.append(tr);
    }
    const total = h('span', { class: 'right muted', 'data-testid': 'warehouse-total' });
    totals.set(w.id, total);
    return h(
      'article',
      { class: 'card warehouse', 'data-testid': 'warehouse', 'data-code': w.code },
      h('h3', {}, h('span', { class: 'code' }, w.code), ' ', h('span', { class: 'muted' }, w.name), total),
      levels.length
        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['SKU', 'On hand', 'Reserved', 'Available', 'Status', 'Thresholds'].map((t) => h('th', {}, t)))),
            body,
          )
        : h('p', { class: 'muted empty' }, 'No stock here yet.'),
    );
  });
  if (!sections.length) sections.push(h('p', { class: 'muted empty' }, state.key ? 'No warehouses yet.' : 'Enter an API key to see the stock.') as never);
  host.replaceChildren(...sections);
}

function renderAlerts() {
  const counts: Record<Status, number> = { IN_STOCK: 0, LOW_STOCK: 0, CRITICAL: 0, OUT_OF_STOCK: 0 };
  const lists: Record<Status, Level[]> = { IN_STOCK: [], LOW_STOCK: [], CRITICAL: [], OUT_OF_STOCK: [] };
  for (const l of state.levels.values()) {
    counts[l.status]++;
    lists[l.status].push(l);
  }
  for (const s of Object.keys(counts) as Status[]) $(`count-${s}`).textContent = String(counts[s]);
  for (const s of ALERTS) {
    const items = lists[s].sort((a, b) => a.available - b.available || bySku(a, b));
    const ul = $(`list-${s}`);
    ul.replaceChildren(
      ...(items.length
        ? items.map((l) =>
            h(
              'li',
              { 'data-testid': 'alert-item', 'data-sku': l.sku, 'data-warehouse': l.warehouse.code, 'data-level-id': l.id },
              h('span', { class: 'sku' }, l.sku),
              h('span', { class: 'muted' }, ` @ ${l.warehouse.code}`),
              h('span', { class: 'right num' }, `${l.available} left`),
            ),
          )
        : [h('li', { class: 'muted empty' }, 'None')]),
    );
  }
  $('partial').hidden = !state.partial;
}

function renderSparks() {
  const host = $('sparklines');
  const available = new Map<string, number>();
  for (const l of state.levels.values()) available.set(l.sku, (available.get(l.sku) ?? 0) + l.available);
  const skus = [...new Set([...state.moves.keys(), ...available.keys()])];
  // Most recently moved first.
  const last = (sku: string) => state.moves.get(sku)?.at(-1)?.at ?? 0;
  skus.sort((a, b) => last(b) - last(a) || a.localeCompare(b));
  host.replaceChildren(
    ...(skus.length
      ? skus.slice(0, 200).map((sku) => {
          const moves = state.moves.get(sku) ?? [];
          const net = moves.reduce((s, m) => s + m.delta, 0);
          return h(
            'li',
            { 'data-testid': 'spark', 'data-sku': sku, 'data-points': String(moves.length) },
            h('span', { class: 'sku' }, sku),
            sparkline(
              moves.map((m) => m.delta),
              { width: 144, height: 28, slots: SPARK_POINTS, label: `${sku}: last ${moves.length} movements, net ${net > 0 ? '+' : ''}${net}` },
            ),
            h('span', { class: 'num muted' }, `${available.get(sku) ?? 0} avail.`),
          );
        })
      : [h('li', { class: 'muted empty' }, 'No movements yet.')]),
  );
}

function render() {
  if (dirtyAll) {
    renderWarehouses();
    dirtyAll = false;
  } else {
    for (const id of dirtyLevels) {
      const l = state.levels.get(id);
      const tr = rows.get(id);
      if (l && tr) fillRow(tr, l);
    }
  }
  dirtyLevels.clear();
  renderTotals();
  renderAlerts();
  renderSparks();
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}

// ---------------------------------------------------------------- wiring

function init() {
  const form = $<HTMLFormElement>('key-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $<HTMLInputElement>('api-key-input').value.trim();
    saveKey(key);
    start(key);
  });
  $('forget-key').addEventListener('click', () => {
    saveKey('');
    start('');
  });
  window.addEventListener('hashchange', () => {
    const key = currentKey();
    if (key && key !== state.key) start(key);
  });
  start(currentKey());
}

init();
