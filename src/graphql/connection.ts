/**
 * Relay connections: argument validation, opaque cursors and the generic Connection/Edge/PageInfo
 * types. Cursors are sealed (AES-256-GCM, src/graphql/cursor-seal.ts): they reveal nothing about
 * the row, cannot be forged, and are bound to the store, connection and sort key that issued them,
 * so a cursor from elsewhere is refused instead of silently paging wrong.
 */
import { ArgsType, ClassType, Field, Int, ObjectType } from 'type-graphql';
import type { KeysetCursor, Page, PageRequest } from '../db/keyset';
import { storeOf, type Context } from './context';
import { CursorError, cursorSealer, type CursorScope, type IdKind, type ScopedSealer, type SortValueKind } from './cursor-seal';
import { badInput } from './errors';

export const MAX_PAGE = 250;
export const DEFAULT_PAGE = 50;

@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `The first edges of the window, 0..${MAX_PAGE} (${DEFAULT_PAGE} when neither first nor last is given); not with last.`,
  })
  first?: number | null;
  @Field(() => String, { nullable: true, description: 'Only edges after this cursor (may be combined with before).' })
  after?: string | null;
  @Field(() => Int, { nullable: true, description: `The last edges of the window, 0..${MAX_PAGE}; not with first.` })
  last?: number | null;
  @Field(() => String, { nullable: true, description: 'Only edges before this cursor (may be combined with after).' })
  before?: string | null;
}

@ObjectType({ description: 'Relay page information.' })
export class PageInfo {
  @Field({ description: 'More edges follow endCursor.' })
  hasNextPage!: boolean;
  @Field({ description: 'More edges precede startCursor.' })
  hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true, description: 'Cursor of the first edge.' })
  startCursor!: string | null;
  @Field(() => String, { nullable: true, description: 'Cursor of the last edge.' })
  endCursor!: string | null;
}

export interface ConnectionValue<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
  readonly totalCount: Promise<number>;
}

/** Generic Relay connection type for a node class: `<Name>Connection` and `<Name>Edge`. */
export function Connection<T extends object>(nodeClass: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`, { description: `An edge in a ${name} connection.` })
  class Edge {
    @Field({ description: 'Opaque cursor of this edge.' })
    cursor!: string;
    @Field(() => nodeClass, { description: 'The item.' })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${name} items (keyset-paginated).` })
  class Conn {
    @Field(() => [Edge], { description: 'The edges of this page.' })
    edges!: Edge[];
    @Field(() => [nodeClass], { description: 'The nodes of this page (edges without cursors).' })
    nodes!: T[];
    @Field(() => PageInfo, { description: 'Page information.' })
    pageInfo!: PageInfo;
    @Field(() => Int, { description: 'Number of items matching the filter, across all pages.' })
    totalCount!: number;
  }
  return Conn;
}

const TEXT_SORTS = new Set(['SKU', 'NAME', 'CODE']);
const TIME_SORTS = new Set(['UPDATED_AT', 'CREATED_AT']);

const valueKind = (sortKey: string): SortValueKind => (TEXT_SORTS.has(sortKey) ? 'text' : TIME_SORTS.has(sortKey) ? 'time' : 'int');
const idKind = (sortKey: string): IdKind => (sortKey === 'ID' ? 'int' : 'uuid');

/** Where a cursor may be used: the store of the caller, the connection and the sort key. */
function scopeOf(ctx: Context, connection: string, sortKey: string): CursorScope {
  return { storeId: storeOf(ctx), connection, sortKey };
}

function openCursor(ctx: Context, cursor: string, connection: string, sortKey: string, arg: 'after' | 'before'): KeysetCursor {
  try {
    const pos = cursorSealer(ctx.app.db).open(scopeOf(ctx, connection, sortKey), cursor, valueKind(sortKey), idKind(sortKey));
    if (valueKind(sortKey) === 'text' && typeof pos.value === 'string' && pos.value.includes('\u0000')) throw new CursorError('NUL');
    return pos;
  } catch (e) {
    if (!(e instanceof CursorError)) throw e;
    throw badInput(
      `"${arg}" is not a valid cursor here: a cursor is valid only for the connection, sort key and store that issued it, unaltered`,
      { argument: arg },
    );
  }
}

/**
 * Validates Relay arguments and turns them into a keyset page request (BAD_USER_INPUT otherwise).
 * As in the Relay specification, `after` and `before` may be combined (with `first`, `last` or
 * neither): the page is taken from the edges strictly between them. `first: 0` / `last: 0` give an
 * empty page whose pageInfo still says whether edges follow / precede. Without `first` and `last`
 * a page holds at most DEFAULT_PAGE edges, counted from `after` (from `before` when only `before`
 * is given). `first` and `last` together are refused: the specification discourages them (the
 * page info of such a slice is ambiguous, hasPreviousPage counting edges the page does not
 * follow) and no client pagination helper sends both.
 */
export function pageRequest(ctx: Context, args: PageArgs, connection: string, sortKey: string, reverse = false): PageRequest {
  const { first, last, after, before } = args;
  if (first != null && last != null)
    throw badInput('Give either "first" or "last", not both (the Relay specification discourages combining them)');
  for (const [name, v] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (v != null && (!Number.isInteger(v) || v < 0 || v > MAX_PAGE))
      throw badInput(`"${name}" must be between 0 and ${MAX_PAGE}, got ${v}`, { argument: name });
  }
  const backward = last != null || (first == null && before != null && after == null);
  return {
    limit: first ?? last ?? DEFAULT_PAGE,
    backward,
    after: after != null ? openCursor(ctx, after, connection, sortKey, 'after') : null,
    before: before != null ? openCursor(ctx, before, connection, sortKey, 'before') : null,
    reverse,
  };
}

/**
 * An edge whose cursor is sealed when first read (a selection without cursors costs no
 * encryption), then kept: startCursor/endCursor are the same strings as the edges' cursors.
 */
class SealedEdge<T> {
  private sealed: string | undefined;
  constructor(
    private readonly sealer: ScopedSealer,
    private readonly position: { value: string | number; id: string },
    readonly node: T,
  ) {}
  get cursor(): string {
    return (this.sealed ??= this.sealer.seal(this.position));
  }
}

/** Maps a keyset page to a Relay connection value. */
export function toConnection<R, T = R>(
  ctx: Context,
  page: Page<R>,
  connection: string,
  sortKey: string,
  idOf: (row: R) => string,
  map: (row: R) => T = (r) => r as unknown as T,
  totalCount: () => Promise<number> = page.totalCount,
): ConnectionValue<T> {
  const sealer = cursorSealer(ctx.app.db).scoped(scopeOf(ctx, connection, sortKey), valueKind(sortKey), idKind(sortKey));
  const edges = page.rows.map((r) => new SealedEdge(sealer, { value: r.__sort, id: String(idOf(r)) }, map(r)));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges[edges.length - 1]?.cursor ?? null;
      },
    },
    // A getter: the count query runs only when totalCount is selected.
    get totalCount() {
      return totalCount();
    },
  };
}
