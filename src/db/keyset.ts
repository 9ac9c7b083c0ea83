/**
 * Keyset pagination in SQL: pages are cut on (sort key, id), never with OFFSET, so a page is
 * stable while rows are inserted concurrently (no duplicates, no skips).
 *
 * Services describe a query (select list, from, filters, sort expression); this module adds the
 * keyset condition, order and limit, and works out the page info. Cursor *encoding* (opaque strings)
 * belongs to the API layer: here a cursor is just the (sort value, id) pair of a row.
 */
import type { Tx } from './tx';

export type SortCast = 'int8' | 'text' | 'timestamptz';

export interface SortSpec {
  /** SQL expression of the sort key (never NULL: coalesce it). */
  expr: string;
  cast: SortCast;
  /** SQL expression of the unique tie-breaker. */
  idExpr: string;
  idCast: 'uuid' | 'int8';
}

export interface KeysetCursor {
  value: string | number;
  id: string;
}

export interface PageRequest {
  /** Rows to return (0 gives an empty page whose page info still says what lies beyond). */
  limit: number;
  /** true for last: rows are counted back from `before` (or from the end). */
  backward: boolean;
  /** Only rows strictly after this position (in the connection's order). */
  after: KeysetCursor | null;
  /** Only rows strictly before this position. Both may be given: rows strictly between them. */
  before: KeysetCursor | null;
  /** Descending sort. */
  reverse: boolean;
}

export interface PageQuery {
  select: string;
  from: string;
  where: string[];
  params: unknown[];
  sort: SortSpec;
  /**
   * Optional select list evaluated only for the rows of the page, after ORDER BY/LIMIT cut it:
   * for per-row work that neither filters nor sorts (e.g. a correlated subquery). It reads the
   * page's rows as `p`, i.e. the columns of `select` (which must include `id`), plus `p.__sort`.
   */
  afterCut?: string;
  /** Joins for `afterCut` (e.g. the page's parent rows), after `FROM (<page>) p`. */
  afterCutJoin?: string;
}

export interface Page<T> {
  rows: (T & { __sort: string | number })[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: () => Promise<number>;
}

/**
 * Filter conditions of a store-scoped query under construction: `params` starts with the store id
 * ($1); add() appends a value and the condition that reads it (given its placeholder number).
 */
export function filterBuilder(storeId: string) {
  const params: unknown[] = [storeId];
  const where: string[] = [];
  return {
    params,
    where,
    add(sql: (n: number) => string, v: unknown) {
      params.push(v);
      where.push(sql(params.length));
    },
  };
}

/** Sort values as cursors carry them: ISO strings for times, numbers for int8 (pg returns those as strings). */
function sortValue(v: unknown, cast: SortCast): string | number {
  if (v instanceof Date) return v.toISOString();
  if (cast === 'int8') return Number(v);
  return v as string | number;
}

/**
 * The rows strictly after (`after`) or strictly before (`before`) a cursor in the connection's order,
 * or, with `flip`, the rows on the cursor's other side (the cursor's own row included).
 */
function cursorCondition(
  q: PageQuery,
  cursor: KeysetCursor,
  side: 'after' | 'before',
  reverse: boolean,
  params: unknown[],
  flip = false,
): string {
  params.push(cursor.value, cursor.id);
  const a = params.length - 1;
  const b = params.length;
  const greater = (side === 'after') !== reverse;
  const op = flip ? (greater ? '<=' : '>=') : greater ? '>' : '<';
  return `(${q.sort.expr}, ${q.sort.idExpr}) ${op} ($${a}::${q.sort.cast}, $${b}::${q.sort.idCast})`;
}

/** The window between the cursors (Relay's ApplyCursorsToEdges). */
function windowConditions(q: PageQuery, page: PageRequest, params: unknown[]): string[] {
  const conds: string[] = [];
  if (page.after) conds.push(cursorCondition(q, page.after, 'after', page.reverse, params));
  if (page.before) conds.push(cursorCondition(q, page.before, 'before', page.reverse, params));
  return conds;
}

function orderBy(q: PageQuery, page: PageRequest): string {
  const dir = page.reverse === page.backward ? 'ASC' : 'DESC';
  return `${q.sort.expr} ${dir}, ${q.sort.idExpr} ${dir}`;
}

const whereOf = (conds: (string | null)[]) => {
  const c = conds.filter((x): x is string => !!x);
  return c.length ? `WHERE ${c.join(' AND ')}` : '';
};

/**
 * One page of a top-level connection, with page info as the Relay specification computes it:
 * hasNextPage is true when `first` (or the default page size) cut the window short, or when rows
 * follow `before`; hasPreviousPage when `last` cut it short, or when rows precede `after`.
 */
export async function runPage<T>(tx: Tx, q: PageQuery, page: PageRequest): Promise<Page<T>> {
  const params = [...q.params];
  const conds = windowConditions(q, page, params);
  params.push(page.limit + 1);
  const cut = `SELECT ${q.select}, ${q.sort.expr} AS __sort FROM ${q.from} ${whereOf([...q.where, ...conds])} ORDER BY ${orderBy(q, page)} LIMIT $${params.length}`;
  const dir = page.reverse === page.backward ? 'ASC' : 'DESC';
  const rows = await tx.query<T & { __sort: unknown }>(
    q.afterCut ? `SELECT ${q.afterCut}, p.__sort FROM (${cut}) p ${q.afterCutJoin ?? ''} ORDER BY p.__sort ${dir}, p.id ${dir}` : cut,
    params,
  );
  const more = rows.length > page.limit;
  if (more) rows.length = page.limit;
  // The rows are the driver's fresh objects: normalise the sort value in place (no copies).
  for (const r of rows) r.__sort = sortValue(r.__sort, q.sort.cast);
  const list = rows as (T & { __sort: string | number })[];
  if (page.backward) list.reverse();
  // Rows on the far side of each cursor (one statement, only when there is a cursor).
  let beforeAfter = false;
  let afterBefore = false;
  if (page.after || page.before) {
    const p2 = [...q.params];
    const exists = (side: 'after' | 'before', c: KeysetCursor | null) =>
      c ? `EXISTS (SELECT 1 FROM ${q.from} ${whereOf([...q.where, cursorCondition(q, c, side, page.reverse, p2, true)])})` : 'false';
    const [r] = await tx.query<{ a: boolean; b: boolean }>(
      `SELECT ${exists('after', page.after)} AS a, ${exists('before', page.before)} AS b`,
      p2,
    );
    beforeAfter = r.a;
    afterBefore = r.b;
  }
  return {
    rows: list,
    hasNextPage: (!page.backward && more) || afterBefore,
    hasPreviousPage: (page.backward && more) || beforeAfter,
    totalCount: () => count(tx, q),
  };
}

export async function count(tx: Tx, q: Pick<PageQuery, 'from' | 'where' | 'params'>): Promise<number> {
  const [r] = await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${q.from} ${whereOf(q.where)}`, q.params);
  return Number(r.n);
}

/**
 * One page per parent in one statement (nested connections, batched by a DataLoader): the same
 * arguments apply to every parent. `parentExpr` is compared with `= ANY(parentIds)`.
 * Page info as in runPage; with a cursor, one more statement (for all parents together) asks
 * whether rows precede `after` / follow `before` under each parent.
 */
export async function runPagesByParent<T>(
  tx: Tx,
  q: PageQuery & { parentExpr: string; parentCast: 'uuid' },
  parentIds: readonly string[],
  page: PageRequest,
): Promise<Page<T>[]> {
  const params = [...q.params, parentIds];
  const parentCond = `${q.parentExpr} = ANY($${params.length}::${q.parentCast}[])`;
  const conds = windowConditions(q, page, params);
  params.push(page.limit + 1);
  const rows = await tx.query<T & { __sort: unknown; __parent: string; __rn: string }>(
    `SELECT * FROM (
       SELECT ${q.select}, ${q.sort.expr} AS __sort, ${q.parentExpr} AS __parent,
              row_number() OVER (PARTITION BY ${q.parentExpr} ORDER BY ${orderBy(q, page)}) AS __rn
         FROM ${q.from} ${whereOf([...q.where, parentCond, ...conds])}
     ) x WHERE x.__rn <= $${params.length} ORDER BY x.__parent, x.__rn`,
    params,
  );
  const byParent = new Map<string, (T & { __sort: string | number })[]>();
  for (const r of rows) {
    const { __parent, __rn: _rn, ...rest } = r;
    const list = byParent.get(__parent) ?? [];
    list.push({ ...(rest as unknown as T), __sort: sortValue(r.__sort, q.sort.cast) });
    byParent.set(__parent, list);
  }
  // Rows on the far side of each cursor, per parent (one statement, only when there is a cursor).
  const farSide = new Map<string, { a: boolean; b: boolean }>();
  if (page.after || page.before) {
    const p2: unknown[] = [...q.params, parentIds];
    const ids = `$${p2.length}::${q.parentCast}[]`;
    const exists = (side: 'after' | 'before', c: KeysetCursor | null) =>
      c
        ? `EXISTS (SELECT 1 FROM ${q.from} ${whereOf([...q.where, `${q.parentExpr} = __ids.__pid`, cursorCondition(q, c, side, page.reverse, p2, true)])})`
        : 'false';
    const flags = await tx.query<{ parent: string; a: boolean; b: boolean }>(
      `SELECT __ids.__pid::text AS parent, ${exists('after', page.after)} AS a, ${exists('before', page.before)} AS b FROM unnest(${ids}) AS __ids(__pid)`,
      p2,
    );
    for (const f of flags) farSide.set(f.parent, f);
  }
  return parentIds.map((id) => {
    const far = farSide.get(id);
    const all = byParent.get(id) ?? [];
    const more = all.length > page.limit;
    const list = all.slice(0, page.limit);
    if (page.backward) list.reverse();
    return {
      rows: list,
      hasNextPage: (!page.backward && more) || !!far?.b,
      hasPreviousPage: (page.backward && more) || !!far?.a,
      totalCount: () => Promise.reject(new Error('nested totalCount is served by a loader')),
    };
  });
}

/** Row counts per parent for nested connections' totalCount (one statement for all parents). */
export async function countByParent(
  tx: Tx,
  q: Pick<PageQuery, 'from' | 'where' | 'params'> & { parentExpr: string; parentCast: 'uuid' },
  parentIds: readonly string[],
): Promise<number[]> {
  const params = [...q.params, parentIds];
  const rows = await tx.query<{ parent: string; n: string }>(
    `SELECT ${q.parentExpr} AS parent, count(*) AS n FROM ${q.from} ${whereOf([...q.where, `${q.parentExpr} = ANY($${params.length}::${q.parentCast}[])`])} GROUP BY 1`,
    params,
  );
  const m = new Map(rows.map((r) => [r.parent, Number(r.n)]));
  return parentIds.map((id) => m.get(id) ?? 0);
}
