/**
 * Baseline for the read scenario: the smallest honest GraphQL server for the same query — bare
 * node:http, graphql-js parse + validate + execute on every request (no document cache, no
 * framework), API-key check against the same api_keys table (cached, like the gateway), and ONE
 * hand-written SQL statement that joins levels, variants, products and warehouses (page first).
 *
 * It computes exactly what the gateway returns for this query (same ids, effective reserved
 * counters, statuses), which run.ts verifies before measuring; its cursors are sealed the same way
 * (AES-256-GCM, src/graphql/cursor-seal.ts, with a key of its own), so they are compared by shape.
 *
 *   DATABASE_URL=… PORT=… node dist/bench/bare-server.js
 */
import crypto from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { buildSchema, execute, parse, validate, GraphQLError, type ExecutionResult } from 'graphql';
import { CursorSealer, deriveCursorKey } from '../src/graphql/cursor-seal';

const SDL = /* GraphQL */ `
  type Query {
    inventoryLevels(first: Int, after: String): InventoryLevelConnection!
  }
  type InventoryLevelConnection {
    edges: [InventoryLevelEdge!]!
    nodes: [InventoryLevel!]!
    pageInfo: PageInfo!
  }
  type InventoryLevelEdge {
    cursor: String!
    node: InventoryLevel!
  }
  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }
  enum StockStatus {
    IN_STOCK
    LOW_STOCK
    CRITICAL
    OUT_OF_STOCK
  }
  type InventoryLevel {
    id: ID!
    onHand: Int!
    reserved: Int!
    available: Int!
    incoming: Int!
    safetyStock: Int!
    status: StockStatus!
    variant: Variant!
    warehouse: Warehouse!
  }
  type Variant {
    id: ID!
    sku: String!
    product: Product!
  }
  type Product {
    id: ID!
    name: String!
  }
  type Warehouse {
    id: ID!
    code: String!
    name: String!
  }
`;

/**
 * The page is cut first (levels × variants, ordered by SKU, keyset after the cursor), and only its
 * rows get the due-lines correction and their product and warehouse.
 */
const SQL = `
SELECT l.id, l.on_hand, l.incoming, l.safety_stock, l.low_stock_threshold, l.critical_threshold,
       (l.reserved - coalesce((SELECT sum(rl.quantity) FROM reservation_lines rl
          WHERE rl.inventory_level_id = l.id AND rl.status = 'ACTIVE' AND rl.expires_at <= now()), 0))::int AS reserved,
       l.variant_id, l.sku, p.id AS product_id, p.name AS product_name,
       w.id AS warehouse_id, w.code AS warehouse_code, w.name AS warehouse_name
  FROM (SELECT l.*, v.sku, v.product_id
          FROM inventory_levels l JOIN variants v ON v.id = l.variant_id
         WHERE l.store_id = $1 AND ($2::text IS NULL OR (v.sku, l.id) > ($2::text, $3::uuid))
         ORDER BY v.sku, l.id
         LIMIT $4) l
  JOIN products p ON p.id = l.product_id
  JOIN warehouses w ON w.id = l.warehouse_id
 ORDER BY l.sku, l.id`;

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64url');
const sealer = new CursorSealer(deriveCursorKey(crypto.randomBytes(32)));
const cursorScope = (storeId: string) => ({ storeId, connection: 'InventoryLevel', sortKey: 'SKU' });
const cursorOf = (storeId: string, sku: string, id: string) => sealer.seal(cursorScope(storeId), { value: sku, id }, 'text', 'uuid');

function status(available: number, low: number, critical: number): string {
  if (available <= 0) return 'OUT_OF_STOCK';
  if (critical > 0 && available <= critical) return 'CRITICAL';
  if (low > 0 && available <= low) return 'LOW_STOCK';
  return 'IN_STOCK';
}

interface Row {
  id: string;
  on_hand: number;
  incoming: number;
  safety_stock: number;
  low_stock_threshold: number;
  critical_threshold: number;
  reserved: number;
  variant_id: string;
  sku: string;
  product_id: string;
  product_name: string;
  warehouse_id: string;
  warehouse_code: string;
  warehouse_name: string;
}

export function createBareServer(databaseUrl: string, poolSize: number): { server: http.Server; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const schema = buildSchema(SDL);
  const keys = new Map<string, { storeId: string | null; until: number }>();

  async function storeOf(header: string | undefined): Promise<string | null> {
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!m) return null;
    const h = crypto.createHash('sha256').update(m[1]).digest('hex');
    const hit = keys.get(h);
    if (hit && hit.until > Date.now()) return hit.storeId;
    const r = await pool.query<{ store_id: string }>(`SELECT store_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [h]);
    const storeId = r.rows[0]?.store_id ?? null;
    keys.set(h, { storeId, until: Date.now() + 5_000 });
    return storeId;
  }

  const rootValue = {
    async inventoryLevels(args: { first?: number | null; after?: string | null }, ctx: { storeId: string; statements: number }) {
      const first = args.first ?? 50;
      if (first < 1 || first > 250) throw new GraphQLError(`"first" must be between 1 and 250, got ${first}`);
      let after: { v: string; i: string } | null = null;
      if (args.after) {
        const pos = sealer.open(cursorScope(ctx.storeId), args.after, 'text', 'uuid');
        after = { v: pos.value as string, i: pos.id };
      }
      ctx.statements++;
      const { rows } = await pool.query<Row>(SQL, [ctx.storeId, after?.v ?? null, after?.i ?? null, first + 1]);
      const page = rows.slice(0, first);
      const edges = page.map((r) => {
        const available = Math.max(0, r.on_hand - r.reserved - r.safety_stock);
        return {
          cursor: cursorOf(ctx.storeId, r.sku, r.id),
          node: {
            id: gid('InventoryLevel', r.id),
            onHand: r.on_hand,
            reserved: r.reserved,
            available,
            incoming: r.incoming,
            safetyStock: r.safety_stock,
            status: status(available, r.low_stock_threshold, r.critical_threshold),
            variant: { id: gid('Variant', r.variant_id), sku: r.sku, product: { id: gid('Product', r.product_id), name: r.product_name } },
            warehouse: { id: gid('Warehouse', r.warehouse_id), code: r.warehouse_code, name: r.warehouse_name },
          },
        };
      });
      return {
        edges,
        nodes: edges.map((e) => e.node),
        pageInfo: {
          hasNextPage: rows.length > first,
          hasPreviousPage: false,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges[edges.length - 1]?.cursor ?? null,
        },
      };
    },
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, statements = 0) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-sql-statements': String(statements) });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return send(res, 200, { status: 'ok' });
    if (req.url !== '/graphql' || req.method !== 'POST') return send(res, 404, { errors: [{ message: 'POST /graphql' }] });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          query: string;
          variables?: Record<string, unknown>;
          operationName?: string;
        };
        const ctx = { storeId: '', statements: 0 };
        const before = keys.size;
        const storeId = await storeOf(req.headers.authorization);
        if (keys.size !== before) ctx.statements++;
        if (!storeId)
          return send(
            res,
            401,
            { errors: [{ message: 'The API key is invalid or revoked', extensions: { code: 'UNAUTHENTICATED' } }] },
            ctx.statements,
          );
        ctx.storeId = storeId;
        let document;
        try {
          document = parse(body.query);
        } catch (e) {
          return send(res, 400, { errors: [{ message: (e as Error).message }] });
        }
        const errors = validate(schema, document);
        if (errors.length) return send(res, 400, { errors });
        const result: ExecutionResult = await execute({
          schema,
          document,
          rootValue,
          contextValue: ctx,
          variableValues: body.variables,
          operationName: body.operationName,
        });
        send(res, 200, result, ctx.statements);
      } catch (e) {
        send(res, 500, { errors: [{ message: (e as Error).message }] });
      }
    });
  });
  return { server, pool };
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is required\n');
    process.exit(1);
  }
  const { server, pool } = createBareServer(url, Number(process.env.BARE_POOL_SIZE || 10));
  server.listen(Number(process.env.PORT || 4100), process.env.HOST || '127.0.0.1');
  const stop = () => {
    server.close(() => void pool.end().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
