/**
 * Delivers due webhooks: claims them (SKIP LOCKED, so each goes to one instance), POSTs them signed,
 * and records the outcome — success, or a retry with exponential backoff, or FAILED after
 * WEBHOOK_MAX_ATTEMPTS. Woken when this instance's event hub queued deliveries, and by its own poll
 * (retries, and deliveries another instance's sequencer queued).
 */
import type { App } from '../../app';
import { withConn } from '../../db/tx';
import { observeWebhook } from '../../observability/metrics';
import { markActiveSpanError, webhookSpan } from '../../observability/tracing';
import { claimDue, markDelivered, markFailed, sign, type Claimed } from './webhook.service';

export class WebhookWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly tx;

  constructor(private readonly app: App) {
    this.tx = { pool: app.tx.pool, maxRetries: app.tx.maxRetries };
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.poke();
      this.timer = setTimeout(tick, this.app.config.webhookPollMs);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, this.app.config.webhookPollMs);
    this.timer.unref();
  }

  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          for (;;) {
            const batch = await withConn(this.tx, (tx) => claimDue(tx, 20, this.app.config.webhookTimeoutMs + 5000));
            await Promise.all(batch.map((c) => this.deliver(c)));
            if (batch.length < 20 || this.stopped) break;
          }
        } catch (e) {
          this.app.log.warn('webhook delivery round failed; will retry', { err: (e as Error).message });
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  /** One attempt, in a span of the trace of the change that caused it (its traceparent is sent). */
  private deliver(c: Claimed): Promise<void> {
    return webhookSpan(c.traceparent, { 'inventory.webhook.attempt': c.attempts }, (traceparent) => this.attempt(c, traceparent));
  }

  private async attempt(c: Claimed, traceparent: string | null): Promise<void> {
    const { config, log } = this.app;
    const body = JSON.stringify({ deliveryId: c.id, eventId: c.eventSeq, topic: c.topic, attempt: c.attempts, ...(c.payload as object) });
    let status: number | null = null;
    let error = '';
    try {
      const res = await fetch(c.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'inventory-gateway-webhooks/1',
          'x-inventory-topic': c.topic,
          'x-inventory-event-id': c.eventSeq,
          'x-inventory-delivery-id': c.id,
          'x-inventory-signature': sign(c.secret, body),
          ...(traceparent ? { traceparent } : {}),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.webhookTimeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await withConn(this.tx, (tx) => markDelivered(tx, c.id, res.status));
        observeWebhook('delivered', c);
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (e) {
      error = (e as Error).name === 'TimeoutError' ? `timed out after ${config.webhookTimeoutMs} ms` : (e as Error).message;
    }
    log.info('webhook delivery failed', { delivery: c.id, attempt: c.attempts, error });
    markActiveSpanError(error);
    await withConn(this.tx, (tx) => markFailed(tx, c.id, status, error, config.webhookMaxAttempts, config.webhookRetryBaseMs));
    observeWebhook(c.attempts >= config.webhookMaxAttempts ? 'failed' : 'retrying', c);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running) await this.running;
  }
}
