/**
 * Tracing facade. OpenTelemetry is off unless the standard OTEL_* variables turn it on
 * (`tracingRequested`); then src/observability/otel-sdk.ts is loaded before anything else
 * (src/observability/preload.ts, first import of main.ts) and hands this module the API.
 * Until then every function here is a branch on `null`: with tracing off not even
 * @opentelemetry/api is loaded.
 *
 * Spans (with the official http, pg and graphql instrumentations):
 *   HTTP request (incoming `traceparent` honoured) or graphql-ws message
 *     → graphql execute (and parse/validate) → service <root field> → pg statements
 *     → outbox wake-up (the event hub pump that sequences the change) → its pg statements
 *   webhook delivery: a client span whose parent is the traceparent stored with the outbox event
 *     (the change that caused it); its own traceparent is sent in the `traceparent` header.
 */
import type * as Api from '@opentelemetry/api';

let api: typeof Api | null = null;
let tracer: Api.Tracer | null = null;

/** Called by otel-sdk.ts once the SDK is registered. */
export function setTracingApi(a: typeof Api, t: Api.Tracer): void {
  api = a;
  tracer = t;
}

export function tracingOn(): boolean {
  return tracer !== null;
}

type Env = Record<string, string | undefined>;

/**
 * Whether the OTEL_* variables ask for traces: OTEL_TRACES_EXPORTER contains `otlp` (or
 * `console`), or it is unset and an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none win.
 */
export function tracingRequested(env: Env = process.env): boolean {
  if (/^true$/i.test(env.OTEL_SDK_DISABLED ?? '')) return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  if (exporters.length) return exporters.includes('otlp') || exporters.includes('console');
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Whether a span is active here (a traced operation): background work outside one starts no trace. */
export function inTrace(): boolean {
  return api !== null && api.trace.getActiveSpan() !== undefined;
}

/** The W3C traceparent of the active span (null when tracing is off or nothing is active). */
export function currentTraceparent(): string | null {
  if (!api) return null;
  const sc = api.trace.getActiveSpan()?.spanContext();
  if (!sc || !api.isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`;
}

/** trace_id / span_id of the active span, for log lines. */
export function logTraceFields(): Record<string, string> {
  const sc = api?.trace.getActiveSpan()?.spanContext();
  return sc && api!.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

function contextFrom(traceparent: string | null | undefined): Api.Context {
  const a = api!;
  if (!traceparent || !TRACEPARENT.test(traceparent)) return a.context.active();
  return a.propagation.extract(a.ROOT_CONTEXT, { traceparent }, a.defaultTextMapGetter);
}

/** Runs `fn` inside a new internal span (or just runs it when tracing is off). */
export function inSpan<T>(name: string, attributes: Api.Attributes, fn: () => Promise<T>): Promise<T> {
  if (!tracer) return fn();
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: api!.SpanStatusCode.ERROR });
      throw e;
    } finally {
      span.end();
    }
  });
}

export interface SpanHandle {
  /** Runs `fn` with this span active. */
  run<T>(fn: () => T): T;
  end(error?: boolean): void;
}

/**
 * Starts a span that is not made active (ended later by the caller): graphql-ws messages, whose
 * execution happens after the hook that starts them returns. `parent`: a traceparent to continue
 * (the socket's upgrade request), else the active context.
 */
export function startSpan(
  name: string,
  kind: 'server' | 'internal',
  attributes: Api.Attributes,
  parent?: string | null,
): SpanHandle | null {
  if (!tracer) return null;
  const a = api!;
  const ctx = contextFrom(parent);
  const span = tracer.startSpan(name, { kind: kind === 'server' ? a.SpanKind.SERVER : a.SpanKind.INTERNAL, attributes }, ctx);
  const active = a.trace.setSpan(ctx, span);
  let ended = false;
  return {
    run: (fn) => a.context.with(active, fn),
    end(error) {
      if (ended) return;
      ended = true;
      if (error) span.setStatus({ code: a.SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/**
 * A webhook delivery: a client span whose parent is the traceparent stored with the outbox event
 * (so the delivery belongs to the trace of the change); `fn` gets the traceparent to send. With
 * tracing off here, the stored traceparent is sent as it is.
 */
export function webhookSpan<T>(
  stored: string | null,
  attributes: Api.Attributes,
  fn: (traceparent: string | null) => Promise<T>,
): Promise<T> {
  if (!tracer) return fn(stored && TRACEPARENT.test(stored) ? stored : null);
  const a = api!;
  const span = tracer.startSpan('webhook delivery', { kind: a.SpanKind.CLIENT, attributes }, stored ? contextFrom(stored) : a.ROOT_CONTEXT);
  return a.context.with(a.trace.setSpan(a.context.active(), span), async () => {
    try {
      return await fn(currentTraceparent());
    } catch (e) {
      span.setStatus({ code: a.SpanStatusCode.ERROR });
      throw e;
    } finally {
      span.end();
    }
  });
}

/** Marks the active span as failed (e.g. a webhook answered non-2xx), with a short reason. */
export function markActiveSpanError(message: string): void {
  const span = api?.trace.getActiveSpan();
  span?.setStatus({ code: api!.SpanStatusCode.ERROR, message });
}

/** Flushes and stops the SDK (shutdown). */
let shutdownHook: (() => Promise<void>) | null = null;
export function setTracingShutdown(fn: () => Promise<void>): void {
  shutdownHook = fn;
}
export async function shutdownTracing(): Promise<void> {
  await shutdownHook?.().catch(() => undefined);
}
