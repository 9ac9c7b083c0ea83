/**
 * The board's state: what it shows (levels, warehouses, movements, cursors) and what changed since
 * the last render. Levels are applied by version, so an older read never replaces a newer one.
 */
import { SPARK_POINTS, type Level, type Move, type RawLevel, type Warehouse } from './types';

export const state = {
  key: '',
  warehouses: new Map<string, Warehouse>(), // by id
  levels: new Map<string, Level>(), // by id
  moves: new Map<string, Move[]>(), // by SKU
  cursors: { inventory: null as string | null, status: null as string | null },
  partial: false,
};

/** What the next render must redo: everything, or only some rows (and which rows flash). */
export const dirty = {
  all: true,
  levels: new Set<string>(),
  flash: new Set<string>(),
};

export const session = {
  /** Bumped on every (re)connect with a new key: stale callbacks do nothing. */
  generation: 0,
  snapshotLoaded: false,
};

/** Forgets everything shown, for a new key. */
export function resetState(key: string) {
  state.key = key;
  state.levels.clear();
  state.moves.clear();
  state.cursors = { inventory: null, status: null };
  state.partial = false;
  session.snapshotLoaded = false;
  dirty.all = true;
}

/** Applies a level as read now; an older version than the one shown is ignored. */
export function upsertLevel(raw: RawLevel): Level {
  const wh = state.warehouses.get(raw.warehouse.id) ?? raw.warehouse;
  if (!state.warehouses.has(wh.id)) {
    state.warehouses.set(wh.id, { id: wh.id, code: wh.code, name: wh.name });
    dirty.all = true;
  }
  const prev = state.levels.get(raw.id);
  if (prev && prev.version > raw.version) return prev;
  const { variant, ...rest } = raw;
  const level: Level = { ...rest, sku: variant.sku, warehouse: state.warehouses.get(wh.id)! };
  state.levels.set(level.id, level);
  if (!prev) dirty.all = true;
  else if (prev.status !== level.status) dirty.flash.add(level.id);
  dirty.levels.add(level.id);
  return level;
}

export function addMove(sku: string, at: number, delta: number) {
  if (delta === 0) return;
  const list = state.moves.get(sku) ?? [];
  list.push({ at, delta });
  list.sort((a, b) => a.at - b.at);
  if (list.length > SPARK_POINTS) list.splice(0, list.length - SPARK_POINTS);
  state.moves.set(sku, list);
}
