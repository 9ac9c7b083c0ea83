/**
 * Webhook subscriptions and deliveries. Deliveries are created by the outbox sequencer (exactly
 * once per event and topic); any instance's worker claims due ones with FOR UPDATE SKIP LOCKED.
 */
import crypto from 'node:crypto';
import type { Tx } from '../../db/tx';
import { Prisma, type PrismaClient, type WebhookSubscription } from '../../generated/prisma/client';
import { runPage, type Page, type PageRequest } from '../../db/keyset';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { checkTarget, type ResolveAll } from './address-check';
import { BODY_SOURCE_COLUMNS } from './webhook.body';
import { systemResolve } from './webhook.http';

export const WEBHOOK_TOPICS = [
  'INVENTORY_UPDATED',
  'STOCK_LOW',
  'STOCK_CRITICAL',
  'STOCK_OUT',
  'BACK_IN_STOCK',
  'SELLABLE_CHANGED',
  'INBOUND_RECEIVED',
  'TRANSFER_SHIPPED',
  'TRANSFER_RECEIVED',
] as const;
export type WebhookTopic = (typeof WEBHOOK_TOPICS)[number];

/**
 * A subscription is disabled (active = false, with a reason) when this many of its deliveries in
 * a row failed every one of their WEBHOOK_MAX_ATTEMPTS attempts — with the defaults, after at
 * least about two minutes of continuous failure (1+2+…+64 s of backoff per delivery), so a short
 * outage of the receiver does not disable it. Any successful delivery resets the count.
 */
export const WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = 5;

/**
 * A subscription as the generated client types it, without its secret, with its topics and JSON
 * filter typed as the service writes them.
 */
export type WebhookRow = Omit<WebhookSubscription, 'secret' | 'topics' | 'filter'> & {
  topics: WebhookTopic[];
  filter: { warehouseIds?: string[]; variantIds?: string[] };
};

/** What every read of a subscription returns: all of it but the secret (shown once, at creation). */
const NO_SECRET = { secret: true } as const;
const asRow = (w: Omit<WebhookSubscription, 'secret'>): WebhookRow => w as WebhookRow;

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
  /** The exact body sent; null before the first attempt (then built from the fields below). */
  body: string | null;
  sku: string | null;
  warehouseCode: string | null;
  note: string | null;
}

export interface WebhookInput {
  url?: string | null;
  topics?: string[] | null;
  warehouseIds?: string[] | null;
  variantIds?: string[] | null;
  active?: boolean | null;
}

const DCOLS = `d.id, d.store_id AS "storeId", d.subscription_id AS "subscriptionId", d.event_seq::text AS "eventSeq", d.topic, d.payload,
  d.status::text AS status, d.attempts, d.next_attempt_at AS "nextAttemptAt", d.last_status_code AS "lastStatusCode",
  d.last_error AS "lastError", d.created_at AS "createdAt", d.delivered_at AS "deliveredAt", ${BODY_SOURCE_COLUMNS}`;

/** How webhook targets are checked (the SSRF guard; config WEBHOOK_ALLOW_PRIVATE_TARGETS). */
export interface TargetGuard {
  allowPrivate: boolean;
  /** Longest wait for the resolver; an unanswered lookup counts as unresolved. */
  resolveTimeoutMs: number;
  resolve?: ResolveAll;
}

/**
 * The SSRF guard at creation and update: a URL whose host is (or resolves to) a refused address
 * is a WEBHOOK_URL_FORBIDDEN userError, and nothing is sent to it. A name that does not resolve
 * (yet) is accepted: every delivery checks again, and fails while it does not resolve.
 */
async function guardUrl(url: string, guard: TargetGuard): Promise<UserErrorShape | null> {
  const resolve = guard.resolve ?? systemResolve;
  let timer: NodeJS.Timeout | undefined;
  const withTimeout: ResolveAll = (host) =>
    Promise.race([
      resolve(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('lookup timed out'), { code: 'ETIMEOUT' })), guard.resolveTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  const r = await checkTarget(new URL(url), { allowPrivate: guard.allowPrivate, resolve: withTimeout });
  if (r.ok || r.reason === 'UNRESOLVED') return null;
  return userError(ErrorCode.WEBHOOK_URL_FORBIDDEN, `url is not allowed: ${r.message}`, ['input', 'url']);
}

function validate(input: WebhookInput, creating: boolean): UserErrorShape[] {
  const errors: UserErrorShape[] = [];
  if (creating || input.url != null) {
    let ok: boolean;
    try {
      const u = new URL(input.url ?? '');
      ok = (u.protocol === 'https:' || u.protocol === 'http:') && (input.url ?? '').length <= 2048 && !u.username && !u.password;
    } catch {
      ok = false;
    }
    if (!ok)
      errors.push(
        userError(ErrorCode.INVALID_INPUT, 'url must be an http(s) URL without credentials, at most 2048 characters', ['input', 'url']),
      );
  }
  if (creating || input.topics != null) {
    const t = input.topics ?? [];
    if (t.length === 0 || t.some((x) => !(WEBHOOK_TOPICS as readonly string[]).includes(x))) {
      errors.push(
        userError(ErrorCode.INVALID_INPUT, `topics must be a non-empty subset of ${WEBHOOK_TOPICS.join(', ')}`, ['input', 'topics']),
      );
    }
  }
  return errors;
}

function filterOf(input: WebhookInput) {
  return {
    ...(input.warehouseIds ? { warehouseIds: input.warehouseIds } : {}),
    ...(input.variantIds ? { variantIds: input.variantIds } : {}),
  };
}

export async function createWebhook(
  prisma: PrismaClient,
  storeId: string,
  input: WebhookInput,
  guard: TargetGuard,
): Promise<{ webhook: WebhookRow | null; secret: string | null; userErrors: UserErrorShape[] }> {
  const errors = validate(input, true);
  if (errors.length) return { webhook: null, secret: null, userErrors: errors };
  const refused = await guardUrl(input.url!, guard);
  if (refused) return { webhook: null, secret: null, userErrors: [refused] };
  const secret = `whsec_${crypto.randomBytes(24).toString('base64url')}`;
  const w = await prisma.webhookSubscription.create({
    data: { storeId, url: input.url!, topics: [...new Set(input.topics)], filter: filterOf(input), secret, active: input.active ?? true },
    omit: NO_SECRET,
  });
  return { webhook: asRow(w), secret, userErrors: [] };
}

/**
 * Changes a subscription. A new url is checked by the SSRF guard, and so is the current one when
 * `active: true` turns a subscription back on. Setting `active` clears a disabled state (reason,
 * time and the failure count when re-enabled).
 */
export async function updateWebhook(
  prisma: PrismaClient,
  storeId: string,
  id: string | null,
  input: WebhookInput,
  guard: TargetGuard,
): Promise<{ webhook: WebhookRow | null; userErrors: UserErrorShape[] }> {
  const errors = validate(input, false);
  if (errors.length) return { webhook: null, userErrors: errors };
  const notFound = { webhook: null, userErrors: [userError(ErrorCode.WEBHOOK_NOT_FOUND, 'Webhook subscription not found', ['id'])] };
  if (!id) return notFound;
  let target = input.url ?? null;
  if (target == null && input.active === true) {
    const cur = await prisma.webhookSubscription.findFirst({ where: { id, storeId }, select: { url: true } });
    if (!cur) return notFound;
    target = cur.url;
  }
  if (target != null) {
    const refused = await guardUrl(target, guard);
    if (refused) return { webhook: null, userErrors: [refused] };
  }
  const filterGiven = input.warehouseIds !== undefined || input.variantIds !== undefined;
  const active = input.active ?? null;
  try {
    const w = await prisma.webhookSubscription.update({
      where: { storeId_id: { storeId, id } },
      data: {
        ...(input.url != null ? { url: input.url } : {}),
        ...(input.topics ? { topics: [...new Set(input.topics)] } : {}),
        ...(filterGiven ? { filter: filterOf(input) } : {}),
        // Setting `active` either way clears a disabled state; turning it on resets the failure count.
        ...(active != null ? { active, disabledReason: null, disabledAt: null } : {}),
        ...(active === true ? { consecutiveFailures: 0 } : {}),
        updatedAt: new Date(),
      },
      omit: NO_SECRET,
    });
    return { webhook: asRow(w), userErrors: [] };
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2025') return notFound;
    throw e;
  }
}

export async function deleteWebhook(prisma: PrismaClient, storeId: string, id: string | null): Promise<UserErrorShape[]> {
  const r = id ? await prisma.webhookSubscription.deleteMany({ where: { id, storeId } }) : { count: 0 };
  return r.count ? [] : [userError(ErrorCode.WEBHOOK_NOT_FOUND, 'Webhook subscription not found', ['id'])];
}

export async function listWebhooks(prisma: PrismaClient, storeId: string): Promise<WebhookRow[]> {
  const rows = await prisma.webhookSubscription.findMany({
    where: { storeId },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    omit: NO_SECRET,
  });
  return rows.map(asRow);
}

export function deliveryPage(
  tx: Tx,
  storeId: string,
  f: { subscriptionId?: string | null; statuses?: string[] | null },
  page: PageRequest,
): Promise<Page<DeliveryRow>> {
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
  return runPage<DeliveryRow>(
    tx,
    {
      select: DCOLS,
      from: 'webhook_deliveries d',
      where,
      params,
      sort: { expr: 'd.created_at', cast: 'timestamptz', idExpr: 'd.id', idCast: 'uuid' },
    },
    page,
  );
}

/** Puts a delivery back in the queue for a fresh series of attempts. */
export async function retryDelivery(
  tx: Tx,
  storeId: string,
  id: string | null,
): Promise<{ delivery: DeliveryRow | null; userErrors: UserErrorShape[] }> {
  const [d] = id
    ? await tx.query<DeliveryRow>(
        `UPDATE webhook_deliveries d SET status = 'PENDING', attempts = 0, next_attempt_at = now(), lease_until = NULL
          WHERE d.id = $1 AND d.store_id = $2 RETURNING ${DCOLS}`,
        [id, storeId],
      )
    : [];
  if (!d) return { delivery: null, userErrors: [userError(ErrorCode.WEBHOOK_DELIVERY_NOT_FOUND, 'Webhook delivery not found', ['id'])] };
  // Due now: a webhook worker's next poll (WEBHOOK_POLL_MS) claims it. (It used to notify
  // inventory_sequenced, which woke every event hub and no webhook worker.)
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
  body: string | null;
  sku: string | null;
  warehouseCode: string | null;
  note: string | null;
  /** W3C traceparent of the change that caused the event (tracing on), or null. */
  traceparent: string | null;
}

/**
 * Claims due deliveries of active subscriptions (leased for `leaseMs`); concurrent workers never
 * get the same one. Deliveries of a paused or disabled subscription wait until it is active again.
 */
export function claimDue(tx: Tx, limit: number, leaseMs: number): Promise<Claimed[]> {
  return tx.query<Claimed>(
    `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, lease_until = now() + make_interval(secs => $2::float8 / 1000)
       FROM webhook_subscriptions s
      WHERE s.store_id = d.store_id AND s.id = d.subscription_id AND (d.store_id, d.id) IN (
        SELECT q.store_id, q.id FROM webhook_deliveries q
          JOIN webhook_subscriptions qs ON qs.store_id = q.store_id AND qs.id = q.subscription_id AND qs.active
         WHERE q.status = 'PENDING' AND q.next_attempt_at <= now() AND (q.lease_until IS NULL OR q.lease_until < now())
         ORDER BY q.event_seq LIMIT $1 FOR UPDATE OF q SKIP LOCKED)
      RETURNING d.id, d.subscription_id AS "subscriptionId", d.event_seq::text AS "eventSeq", d.topic, d.payload, d.attempts, s.url, s.secret,
                ${BODY_SOURCE_COLUMNS}, d.traceparent`,
    [limit, leaseMs],
  );
}

/** Records a success (and fixes the body sent); a success ends the subscription's run of failures. */
export async function markDelivered(tx: Tx, id: string, status: number, body: string): Promise<void> {
  await tx.query(
    `WITH d AS (
       UPDATE webhook_deliveries SET status = 'SUCCEEDED', delivered_at = now(), last_status_code = $2, last_error = NULL, lease_until = NULL,
              body = coalesce(body, $3)
        WHERE id = $1 RETURNING store_id, subscription_id)
     UPDATE webhook_subscriptions s SET consecutive_failures = 0 FROM d
      WHERE s.store_id = d.store_id AND s.id = d.subscription_id AND s.consecutive_failures <> 0`,
    [id, status, body],
  );
}

export interface FailureOutcome {
  /** The delivery has used all its attempts (FAILED). */
  failedForGood: boolean;
  /** Set when this failure disabled the subscription. */
  disabledReason: string | null;
  consecutiveFailures: number;
}

/**
 * Records a failed attempt: retry later with exponential backoff, or FAILED after `maxAttempts`.
 * A FAILED delivery extends the subscription's run of failed deliveries; at
 * WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES, or at once when `disableNow` is given (the SSRF guard
 * refused the target), an active subscription is disabled with a reason.
 */
export async function markFailed(
  tx: Tx,
  f: {
    id: string;
    subscriptionId: string;
    status: number | null;
    error: string;
    body: string;
    maxAttempts: number;
    baseMs: number;
    disableNow?: string;
  },
): Promise<FailureOutcome> {
  const [d] = await tx.query<{ status: string }>(
    `UPDATE webhook_deliveries SET last_status_code = $2, last_error = left($3, 500), lease_until = NULL, body = coalesce(body, $6),
            status = CASE WHEN attempts >= $4 THEN 'FAILED'::"WebhookDeliveryStatus" ELSE 'PENDING'::"WebhookDeliveryStatus" END,
            next_attempt_at = now() + make_interval(secs => least(3600, $5::float8 * power(2, attempts - 1) / 1000))
      WHERE id = $1 RETURNING status::text AS status`,
    [f.id, f.status, f.error, f.maxAttempts, f.baseMs, f.body],
  );
  const failedForGood = d?.status === 'FAILED';
  if (!failedForGood && !f.disableNow) return { failedForGood, disabledReason: null, consecutiveFailures: 0 };
  const threshold =
    `${WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a row failed all their attempts; last error: ${f.error}`.slice(0, 500);
  const [s] = await tx.query<{ disabled: boolean; reason: string | null; n: number }>(
    `WITH old AS (SELECT store_id, id, active FROM webhook_subscriptions WHERE id = $1 FOR UPDATE),
     upd AS (
       UPDATE webhook_subscriptions w
          SET consecutive_failures = w.consecutive_failures + $2::int,
              active = w.active AND $3::text IS NULL AND w.consecutive_failures + $2::int < $4,
              disabled_reason = CASE WHEN w.active AND ($3::text IS NOT NULL OR w.consecutive_failures + $2::int >= $4) THEN coalesce($3, $5) ELSE w.disabled_reason END,
              disabled_at = CASE WHEN w.active AND ($3::text IS NOT NULL OR w.consecutive_failures + $2::int >= $4) THEN now() ELSE w.disabled_at END
         FROM old WHERE w.store_id = old.store_id AND w.id = old.id
       RETURNING old.active AND NOT w.active AS disabled, w.disabled_reason AS reason, w.consecutive_failures AS n)
     SELECT * FROM upd`,
    [f.subscriptionId, failedForGood ? 1 : 0, f.disableNow ?? null, WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES, threshold],
  );
  return { failedForGood, disabledReason: s?.disabled ? s.reason : null, consecutiveFailures: s?.n ?? 0 };
}

/** Stripe-style signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function sign(secret: string, body: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}
