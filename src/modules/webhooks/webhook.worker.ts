/**
 * Delivers due webhooks: claims them (SKIP LOCKED, so each goes to one instance), POSTs them signed
 * (webhook.http.ts: the SSRF guard at send time), and records the outcome — success, or a retry
 * with exponential backoff, or FAILED after WEBHOOK_MAX_ATTEMPTS; a run of FAILED deliveries (or a
 * refused target) disables the subscription. Failure logs carry the cause and are rate-limited
 * per subscription (failure-log.ts). Woken when this instance's event hub queued deliveries, and by its own poll
 * (retries, and deliveries another instance's sequencer queued).
 */
import { cursorSealer } from '../../graphql/cursor-seal';
import type { App } from '../../app';
import { withConn } from '../../db/tx';
import { CoalescedLoop } from '../../util/coalesced-loop';
import { observeWebhook } from '../../observability/metrics';
import { markActiveSpanError, webhookSpan } from '../../observability/tracing';
import { toGlobalId } from '../../graphql/ids';
import { FailureLog } from './failure-log';
import { deliveryBody } from './webhook.body';
import { postWebhook } from './webhook.http';
import { claimDue, markDelivered, markFailed, sign, type Claimed } from './webhook.service';

export class WebhookWorker {
  private readonly loop: CoalescedLoop;
  private stopped = false;
  private readonly tx;
  /** Failure logs, rate-limited per subscription. */
  private readonly failures = new FailureLog();

  constructor(private readonly app: App) {
    this.tx = { pool: app.tx.pool, maxRetries: app.tx.maxRetries };
    this.loop = new CoalescedLoop(
      () => this.round(),
      app.config.webhookPollMs,
      (e) => this.app.log.warn('webhook delivery round failed; will retry', { err: e.message }),
    );
  }

  start(): void {
    this.loop.start();
  }

  poke(): void {
    this.loop.poke();
  }

  /** Claims and delivers due deliveries, 20 at a time, until none are left. */
  private async round(): Promise<void> {
    for (;;) {
      const batch = await withConn(this.tx, (tx) => claimDue(tx, 20, this.app.config.webhookTimeoutMs + 5000));
      await Promise.all(batch.map((c) => this.deliver(c)));
      if (batch.length < 20 || this.stopped) break;
    }
  }

  /** One attempt, in a span of the trace of the change that caused it (its traceparent is sent). */
  private deliver(c: Claimed): Promise<void> {
    return webhookSpan(c.traceparent, { 'inventory.webhook.attempt': c.attempts }, (traceparent) => this.attempt(c, traceparent));
  }

  private async attempt(c: Claimed, traceparent: string | null): Promise<void> {
    const { config, log } = this.app;
    // Fixed at the first attempt; the same bytes on every retry (and in WebhookDelivery.payload).
    const body = c.body ?? deliveryBody(c, (id) => cursorSealer(this.app.db).movementIds.seal(id));
    const deliveryId = toGlobalId('WebhookDelivery', c.id);
    const r = await postWebhook(
      c.url,
      {
        'content-type': 'application/json',
        'user-agent': 'inventory-gateway-webhooks/1',
        'x-inventory-topic': c.topic,
        'x-inventory-event-id': c.eventSeq,
        'x-inventory-delivery-id': deliveryId,
        'x-inventory-attempt': String(c.attempts),
        'x-inventory-signature': sign(c.secret, body),
        ...(traceparent ? { traceparent } : {}),
      },
      body,
      { allowPrivate: config.webhookAllowPrivateTargets, timeoutMs: config.webhookTimeoutMs },
    );
    if (r.ok) {
      await withConn(this.tx, (tx) => markDelivered(tx, c.id, r.status, body));
      observeWebhook('delivered', c);
      const failures = this.failures.success(c.subscriptionId);
      if (failures > 0)
        log.info('webhook endpoint recovered', {
          subscription: toGlobalId('WebhookSubscription', c.subscriptionId),
          failuresBefore: failures,
        });
      return;
    }
    const disableNow = r.refusal
      ? `The url's host resolved to a forbidden (${r.refusal.category}) address at delivery time; nothing was sent. Fix the url or its DNS, then set active: true.`
      : undefined;
    const outcome = await withConn(this.tx, (tx) =>
      markFailed(tx, {
        id: c.id,
        subscriptionId: c.subscriptionId,
        status: r.status,
        error: r.error,
        body,
        maxAttempts: config.webhookMaxAttempts,
        baseMs: config.webhookRetryBaseMs,
        disableNow,
      }),
    );
    markActiveSpanError(r.error);
    observeWebhook(outcome.failedForGood ? 'failed' : 'retrying', c);
    const subscription = toGlobalId('WebhookSubscription', c.subscriptionId);
    if (outcome.disabledReason) {
      // The failure state is kept: attempts still in flight must not start a new run of logs.
      this.failures.failure(c.subscriptionId, r.cause);
      log.warn('webhook subscription disabled', {
        subscription,
        reason: outcome.disabledReason,
        ...(r.refusal ? { refusedAddress: r.refusal.address } : {}),
      });
      return;
    }
    const d = this.failures.failure(c.subscriptionId, r.cause);
    if (d.log) {
      log.warn('webhook delivery failed', {
        subscription,
        delivery: deliveryId,
        attempt: c.attempts,
        cause: r.cause,
        error: r.error,
        ...(r.status != null ? { status: r.status } : {}),
        ...(r.refusal ? { refusedAddress: r.refusal.address } : {}),
        ...(outcome.failedForGood ? { failedForGood: true, consecutiveFailedDeliveries: outcome.consecutiveFailures } : {}),
        failuresInRun: d.failures,
        ...(d.suppressed ? { notLoggedSinceLast: d.suppressed, notLoggedCauses: d.suppressedCauses } : {}),
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
  }
}
