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
  limit: number;
  /** true for last/before. */
  backward: boolean;
  /** The after (forward) or before (backward) cursor. */
  cursor: KeysetCursor | null;
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

/** Sort values as cursors carry them: ISO strings for times, numbers for int8 (pg returns those as strings). */
function sortValue(v: unknown, cast: SortCast): string | number {
  if (v instanceof Date) return v.toISOString();
  if (cast === 'int8') return Number(v);
  return v as string | number;
}

/** `(sort, id) > (cursor)` in the direction rows are fetched; `flip` gives the rows on the other side. */
function keysetCondition(q: PageQuery, page: PageRequest, params: unknown[], flip = false): string | null {
  if (!page.cursor) return null;
  const ascending = page.reverse === page.backward;
  params.push(page.cursor.value, page.cursor.id);
  const a = params.length - 1;
  const b = params.length;
  const op = flip ? (ascending ? '<=' : '>=') : ascending ? '>' : '<';
  return `(${q.sort.expr}, ${q.sort.idExpr}) ${op} ($${a}::${q.sort.cast}, $${b}::${q.sort.idCast})`;
}

function orderBy(q: PageQuery, page: PageRequest): string {
  const dir = page.reverse === page.backward ? 'ASC' : 'DESC';
  return `${q.sort.expr} ${dir}, ${q.sort.idExpr} ${dir}`;
}

const whereOf = (conds: (string | null)[]) => {
  const c = conds.filter((x): x is string => !!x);
  return c.length ? `WHERE ${c.join(' AND ')}` : '';
};

/** One page of a top-level connection. */
export async function runPage<T>(tx: Tx, q: PageQuery, page: PageRequest): Promise<Page<T>> {
  const params = [...q.params];
  const cond = keysetCondition(q, page, params);
  params.push(page.limit + 1);
  const cut = `SELECT ${q.select}, ${q.sort.expr} AS __sort FROM ${q.from} ${whereOf([...q.where, cond])} ORDER BY ${orderBy(q, page)} LIMIT $${params.length}`;
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
  // Rows on the other side of the cursor (only asked when there is a cursor).
  let otherSide = false;
  if (page.cursor) {
    const p2 = [...q.params];
    const back = keysetCondition(q, page, p2, true);
    const [r] = await tx.query<{ e: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${q.from} ${whereOf([...q.where, back])}) AS e`, p2);
    otherSide = r.e;
  }
  return {
    rows: list,
    hasNextPage: page.backward ? otherSide : more,
    hasPreviousPage: page.backward ? more : otherSide,
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
 * hasPreviousPage (forward) / hasNextPage (backward) report whether a cursor was given, as the
 * Relay spec allows, to keep this one statement.
 */
export async function runPagesByParent<T>(
  tx: Tx,
  q: PageQuery & { parentExpr: string; parentCast: 'uuid' },
  parentIds: readonly string[],
  page: PageRequest,
): Promise<Page<T>[]> {
  const params = [...q.params, parentIds];
  const parentCond = `${q.parentExpr} = ANY($${params.length}::${q.parentCast}[])`;
  const cond = keysetCondition(q, page, params);
  params.push(page.limit + 1);
  const rows = await tx.query<T & { __sort: unknown; __parent: string; __rn: string }>(
    `SELECT * FROM (
       SELECT ${q.select}, ${q.sort.expr} AS __sort, ${q.parentExpr} AS __parent,
              row_number() OVER (PARTITION BY ${q.parentExpr} ORDER BY ${orderBy(q, page)}) AS __rn
         FROM ${q.from} ${whereOf([...q.where, parentCond, cond])}
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
  return parentIds.map((id) => {
    const all = byParent.get(id) ?? [];
    const more = all.length > page.limit;
    const list = all.slice(0, page.limit);
    if (page.backward) list.reverse();
    return {
      rows: list,
      hasNextPage: page.backward ? !!page.cursor : more,
      hasPreviousPage: page.backward ? more : !!page.cursor,
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
