/**
 * Webhook subscriptions and deliveries. Deliveries are created by the outbox sequencer (exactly
 * once per event and topic); any instance's worker claims due ones with FOR UPDATE SKIP LOCKED.
 */
import crypto from 'node:crypto';
import type { Tx } from '../../db/tx';
import { runPage, type Page, type PageRequest } from '../../db/keyset';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';

export const WEBHOOK_TOPICS = ['INVENTORY_UPDATED', 'STOCK_LOW', 'STOCK_CRITICAL', 'STOCK_OUT', 'BACK_IN_STOCK'] as const;
export type WebhookTopic = (typeof WEBHOOK_TOPICS)[number];

export interface WebhookRow {
  id: string;
  storeId: string;
  url: string;
  topics: WebhookTopic[];
  filter: { warehouseIds?: string[]; variantIds?: string[] };
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeliveryRow {
  id: string;
  storeId: string;
  subscriptionId: string;
  eventSeq: string;
  topic: WebhookTopic;
  payload: unknown;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  attempts: number;
  nextAttemptAt: Date;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

export interface WebhookInput {
  url?: string | null;
  topics?: string[] | null;
  warehouseIds?: string[] | null;
  variantIds?: string[] | null;
  active?: boolean | null;
}

const COLS = `w.id, w.store_id AS "storeId", w.url, w.topics, w.filter, w.active, w.created_at AS "createdAt", w.updated_at AS "updatedAt"`;
const DCOLS = `d.id, d.store_id AS "storeId", d.subscription_id AS "subscriptionId", d.event_seq::text AS "eventSeq", d.topic, d.payload,
  d.status::text AS status, d.attempts, d.next_attempt_at AS "nextAttemptAt", d.last_status_code AS "lastStatusCode",
  d.last_error AS "lastError", d.created_at AS "createdAt", d.delivered_at AS "deliveredAt"`;

function validate(input: WebhookInput, creating: boolean): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  if (creating || input.url != null) {
    let ok = false;
    try {
      const u = new URL(input.url ?? '');
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && (input.url ?? '').length <= 2048 && !u.username && !u.password;
    } catch {
      ok = false;
    }
    if (!ok) errors.push(userError(ErrorCode.INVALID_INPUT, 'url must be an http(s) URL without credentials, at most 2048 characters', ['input', 'url']));
  }
  if (creating || input.topics != null) {
    const t = input.topics ?? [];
    if (t.length === 0 || t.some((x) => !(WEBHOOK_TOPICS as readonly string[]).includes(x))) {
      errors.push(userError(ErrorCode.INVALID_INPUT, `topics must be a non-empty subset of ${WEBHOOK_TOPICS.join(', ')}`, ['input', 'topics']));
    }
  }
  return errors;
}

function filterOf(input: WebhookInput) {
  return { ...(input.warehouseIds ? { warehouseIds: input.warehouseIds } : {}), ...(input.variantIds ? { variantIds: input.variantIds } : {}) };
}

export async function createWebhook(tx: Tx, storeId: string, input: WebhookInput): Promise<{ webhook: WebhookRow | null; secret: string | null; userErrors: UserErrorShape[] }> {
  const errors = validate(input, true);
  if (errors.length) return { webhook: null, secret: null, userErrors: errors };
  const secret = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
  const [w] = await tx.query<WebhookRow>(
    `INSERT INTO webhook_subscriptions AS w (store_id, url, topics, filter, secret, active) VALUES ($1, $2, $3, $4, $5, coalesce($6, true)) RETURNING ${COLS}`,
    [storeId, input.url, [...new Set(input.topics)], JSON.stringify(filterOf(input)), secret, input.active ?? null],
  );
  return { webhook: w, secret, userErrors: [] };
}

export async function updateWebhook(tx: Tx, storeId: string, id: string | null, input: WebhookInput): Promise<{ webhook: WebhookRow | null; userErrors: UserErrorShape[] }> {
  const errors = validate(input, false);
  if (errors.length) return { webhook: null, userErrors: errors };
  const filterGiven = input.warehouseIds !== undefined || input.variantIds !== undefined;
  const [w] = id
    ? await tx.query<WebhookRow>(
        `UPDATE webhook_subscriptions w SET url = coalesce($3, url), topics = coalesce($4, topics),
                filter = CASE WHEN $5::boolean THEN $6::jsonb ELSE filter END, active = coalesce($7, active), updated_at = now()
          WHERE w.id = $1 AND w.store_id = $2 RETURNING ${COLS}`,
        [id, storeId, input.url ?? null, input.topics ? [...new Set(input.topics)] : null, filterGiven, JSON.stringify(filterOf(input)), input.active ?? null],
      )
    : [];
  if (!w) return { webhook: null, userErrors: [userError(ErrorCode.WEBHOOK_NOT_FOUND, 'Webhook subscription not found', ['id'])] };
  return { webhook: w, userErrors: [] };
}

export async function deleteWebhook(tx: Tx, storeId: string, id: string | null): Promise<UserErrorShape[]> {
  const r = id ? await tx.query(`DELETE FROM webhook_subscriptions WHERE id = $1 AND store_id = $2 RETURNING id`, [id, storeId]) : [];
  return r.length ? [] : [userError(ErrorCode.WEBHOOK_NOT_FOUND, 'Webhook subscription not found', ['id'])];
}

export function listWebhooks(tx: Tx, storeId: string): Promise<WebhookRow[]> {
  return tx.query<WebhookRow>(`SELECT ${COLS} FROM webhook_subscriptions w WHERE w.store_id = $1 ORDER BY w.created_at, w.id`, [storeId]);
}

export function deliveryPage(tx: Tx, storeId: string, f: { subscriptionId?: string | null; statuses?: string[] | null }, page: PageRequest): Promise<Page<DeliveryRow>> {
  const params: unknown[] = [storeId];
  const where = ['d.store_id = $1'];
  if (f.subscriptionId) {
    params.push(f.subscriptionId);
    where.push(`d.subscription_id = $${params.length}`);
  }
  if (f.statuses) {
    params.push(f.statuses);
    where.push(`d.status::text = ANY($${params.length}::text[])`);
  }
  return runPage<DeliveryRow>(tx, { select: DCOLS, from: 'webhook_deliveries d', where, params, sort: { expr: 'd.created_at', cast: 'timestamptz', idExpr: 'd.id', idCast: 'uuid' } }, page);
}

/** Puts a delivery back in the queue for a fresh series of attempts. */
export async function retryDelivery(tx: Tx, storeId: string, id: string | null): Promise<{ delivery: DeliveryRow | null; userErrors: UserErrorShape[] }> {
  const [d] = id
    ? await tx.query<DeliveryRow>(
        `UPDATE webhook_deliveries d SET status = 'PENDING', attempts = 0, next_attempt_at = now(), lease_until = NULL
          WHERE d.id = $1 AND d.store_id = $2 RETURNING ${DCOLS}`,
        [id, storeId],
      )
    : [];
  if (!d) return { delivery: null, userErrors: [userError(ErrorCode.WEBHOOK_DELIVERY_NOT_FOUND, 'Webhook delivery not found', ['id'])] };
  await tx.query(`SELECT pg_notify('inventory_sequenced', '')`);
  return { delivery: d, userErrors: [] };
}

export interface Claimed {
  id: string;
  subscriptionId: string;
  eventSeq: string;
  topic: string;
  payload: unknown;
  attempts: number;
  url: string;
  secret: string;
  /** W3C traceparent of the change that caused the event (tracing on), or null. */
  traceparent: string | null;
}

/** Claims due deliveries (leased for `leaseMs`); concurrent workers never get the same one. */
export function claimDue(tx: Tx, limit: number, leaseMs: number): Promise<Claimed[]> {
  return tx.query<Claimed>(
    `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, lease_until = now() + make_interval(secs => $2::float8 / 1000)
       FROM webhook_subscriptions s
      WHERE s.id = d.subscription_id AND d.id IN (
        SELECT id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
         ORDER BY event_seq LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.subscription_id AS "subscriptionId", d.event_seq::text AS "eventSeq", d.topic, d.payload, d.attempts, s.url, s.secret, d.traceparent`,
    [limit, leaseMs],
  );
}

export async function markDelivered(tx: Tx, id: string, status: number): Promise<void> {
  await tx.query(`UPDATE webhook_deliveries SET status = 'SUCCEEDED', delivered_at = now(), last_status_code = $2, last_error = NULL, lease_until = NULL WHERE id = $1`, [id, status]);
}

export async function markFailed(tx: Tx, id: string, status: number | null, error: string, maxAttempts: number, baseMs: number): Promise<void> {
  await tx.query(
    `UPDATE webhook_deliveries SET last_status_code = $2, last_error = left($3, 500), lease_until = NULL,
            status = CASE WHEN attempts >= $4 THEN 'FAILED'::"WebhookDeliveryStatus" ELSE 'PENDING'::"WebhookDeliveryStatus" END,
            next_attempt_at = now() + make_interval(secs => least(3600, $5::float8 * power(2, attempts - 1) / 1000))
      WHERE id = $1`,
    [id, status, error, maxAttempts, baseMs],
  );
}

/** Stripe-style signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function sign(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}
