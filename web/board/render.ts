/**
 * Rendering of the board: the warehouse tables (rebuilt when levels come or go, updated row by row
 * otherwise), the totals, the alert lists and the sparklines, at most once per animation frame.
 */
import { $, badge, h } from './dom';
import { sparkline } from './sparkline';
import { dirty, state } from './state';
import { ALERTS, SPARK_POINTS, type Level, type Status } from './types';

const rows = new Map<string, HTMLTableRowElement>();
let scheduled = false;

/** Renders on the next animation frame (once, however many changes come before it). */
export function schedule() {
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
    h('td', { class: 'num muted', 'data-label': 'Incoming', 'data-testid': 'incoming' }, String(l.incoming)),
    h('td', { class: 'num muted', 'data-label': 'In transit', 'data-testid': 'in-transit' }, String(l.inTransit)),
    h('td', { class: 'status' }, badge(l.status)),
    h('td', { class: 'muted thresholds', 'data-label': 'Thresholds' }, thresholds(l)),
  );
  if (dirty.flash.delete(l.id)) {
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
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['SKU', 'On hand', 'Reserved', 'Available', 'Incoming', 'In transit', 'Status', 'Thresholds'].map((t) => h('th', {}, t)),
              ),
            ),
            body,
          )
        : h('p', { class: 'muted empty' }, 'No stock here yet.'),
    );
  });
  if (!sections.length)
    sections.push(h('p', { class: 'muted empty' }, state.key ? 'No warehouses yet.' : 'Enter an API key to see the stock.') as never);
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
              {
                width: 144,
                height: 28,
                slots: SPARK_POINTS,
                label: `${sku}: last ${moves.length} movements, net ${net > 0 ? '+' : ''}${net}`,
              },
            ),
            h('span', { class: 'num muted' }, `${available.get(sku) ?? 0} avail.`),
          );
        })
      : [h('li', { class: 'muted empty' }, 'No movements yet.')]),
  );
}

function render() {
  if (dirty.all) {
    renderWarehouses();
    dirty.all = false;
  } else {
    for (const id of dirty.levels) {
      const l = state.levels.get(id);
      const tr = rows.get(id);
      if (l && tr) fillRow(tr, l);
    }
  }
  dirty.levels.clear();
  renderTotals();
  renderAlerts();
  renderSparks();
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
}
