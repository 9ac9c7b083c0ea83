/**
 * Relay connections: argument validation, opaque cursors and the generic Connection/Edge/PageInfo
 * types. Cursors are base64url JSON naming their connection and sort key, so a cursor from another
 * connection or sort order is refused instead of silently paging wrong.
 */
import { ArgsType, ClassType, Field, Int, ObjectType } from 'type-graphql';
import type { KeysetCursor, Page, PageRequest } from '../db/keyset';
import { badInput } from './errors';

export const MAX_PAGE = 250;
export const DEFAULT_PAGE = 50;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Forward page size, 1..${MAX_PAGE} (default ${DEFAULT_PAGE}).` })
  first?: number | null;
  @Field(() => String, { nullable: true, description: 'Return edges after this cursor.' })
  after?: string | null;
  @Field(() => Int, { nullable: true, description: `Backward page size, 1..${MAX_PAGE}.` })
  last?: number | null;
  @Field(() => String, { nullable: true, description: 'Return edges before this cursor.' })
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEXT_SORTS = new Set(['SKU', 'NAME', 'CODE']);
const TIME_SORTS = new Set(['UPDATED_AT', 'CREATED_AT']);

interface CursorBody {
  c: string; // connection
  s: string; // sort key
  v: string | number;
  i: string;
}

export function encodeCursor(connection: string, sortKey: string, value: string | number, id: string): string {
  return Buffer.from(JSON.stringify({ c: connection, s: sortKey, v: value, i: id } satisfies CursorBody)).toString('base64url');
}

function decodeCursor(cursor: string, connection: string, sortKey: string, arg: string): KeysetCursor {
  let body: CursorBody | null = null;
  try {
    if (cursor.length <= 500) body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorBody;
  } catch {
    body = null;
  }
  const valid =
    body && typeof body === 'object' && typeof body.c === 'string' && typeof body.i === 'string' && (typeof body.v === 'string' || typeof body.v === 'number');
  if (!valid) throw badInput(`"${arg}" is not a valid cursor`, { argument: arg });
  if (body!.c !== connection) throw badInput(`"${arg}" is a cursor of another connection (${body!.c}), not ${connection}`, { argument: arg });
  if (body!.s !== sortKey) throw badInput(`"${arg}" was issued for sort key ${body!.s}, not ${sortKey}`, { argument: arg });
  // A well-formed cursor of this connection carries values of the right types; a forged one does not.
  const idOk = sortKey === 'ID' ? /^\d{1,18}$/.test(body!.i) : UUID.test(body!.i);
  const kind = TEXT_SORTS.has(sortKey) ? 'string' : TIME_SORTS.has(sortKey) ? 'time' : 'number';
  const v = body!.v;
  const valueOk =
    kind === 'string' ? typeof v === 'string' && !v.includes('\u0000') && v.length <= 1000
    : kind === 'time' ? typeof v === 'string' && !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v)
    : typeof v === 'number' && Number.isSafeInteger(v);
  if (!idOk || !valueOk) throw badInput(`"${arg}" is not a valid cursor`, { argument: arg });
  return { value: v, id: body!.i };
}

/** Validates Relay arguments and turns them into a keyset page request (BAD_USER_INPUT otherwise). */
export function pageRequest(args: PageArgs, connection: string, sortKey: string, reverse = false): PageRequest {
  const { first, last, after, before } = args;
  if (first != null && last != null) throw badInput('Give either "first" or "last", not both');
  for (const [name, v] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (v != null && (!Number.isInteger(v) || v < 1 || v > MAX_PAGE)) throw badInput(`"${name}" must be between 1 and ${MAX_PAGE}, got ${v}`, { argument: name });
  }
  if (last != null && after != null) throw badInput('"after" goes with "first"; use "before" with "last"');
  if (first != null && before != null) throw badInput('"before" goes with "last"; use "after" with "first"');
  const backward = last != null || (first == null && before != null);
  const cursorArg = backward ? before : after;
  return {
    limit: (backward ? last : first) ?? DEFAULT_PAGE,
    backward,
    cursor: cursorArg != null ? decodeCursor(cursorArg, connection, sortKey, backward ? 'before' : 'after') : null,
    reverse,
  };
}

/** Maps a keyset page to a Relay connection value. */
export function toConnection<R, T = R>(
  page: Page<R>,
  connection: string,
  sortKey: string,
  idOf: (row: R) => string,
  map: (row: R) => T = (r) => r as unknown as T,
  totalCount: () => Promise<number> = page.totalCount,
): ConnectionValue<T> {
  const edges = page.rows.map((r) => ({ cursor: encodeCursor(connection, sortKey, r.__sort, idOf(r)), node: map(r) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    // A getter: the count query runs only when totalCount is selected.
    get totalCount() {
      return totalCount();
    },
  };
}
