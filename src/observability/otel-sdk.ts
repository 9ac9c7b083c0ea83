/**
 * The OpenTelemetry SDK, loaded only when the OTEL_* variables ask for traces (preload.ts). It
 * must run before `pg` and `graphql` are first required, so that their instrumentations apply.
 *
 * - Exporter: OTLP over HTTP with JSON bodies (@opentelemetry/exporter-trace-otlp-http), configured
 *   by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or …_TRACES_ENDPOINT, …_HEADERS,
 *   …_TIMEOUT); OTEL_TRACES_EXPORTER=console prints spans instead. Batching: OTEL_BSP_*.
 * - Sampling: OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on).
 * - Resource: OTEL_SERVICE_NAME (default inventory-gateway), OTEL_RESOURCE_ATTRIBUTES.
 * - Propagation: W3C traceparent / tracestate (an incoming traceparent is honoured).
 * - Instrumentations: http (incoming requests; GraphQL GET parameters redacted from URLs), pg
 *   (statements only inside a traced operation, without parameter values, their text cut at 1 KB;
 *   no connect spans), graphql (parse,
 *   validate, execute; no resolver spans, literal values stripped from the recorded document).
 */
import * as api from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { setLogMixin } from '../log';
import { logTraceFields, setTracingApi, setTracingShutdown } from './tracing';

/** Longest SQL text recorded on a span (the rest is cut). */
const SQL_TEXT_MAX = 1024;

/** Paths whose requests get no span (probes and static assets). */
const UNTRACED = /^\/(healthz|readyz|ide\/|board)/;

export function startTracing(env: Record<string, string | undefined> = process.env): void {
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/json') {
    process.stderr.write(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: traces are sent as OTLP/HTTP JSON (http/json)\n`);
  }
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((s) => s.trim().toLowerCase());
  const spanExporters: SpanExporter[] = [];
  if (exporters.includes('otlp')) spanExporters.push(new OTLPTraceExporter());
  if (exporters.includes('console')) spanExporters.push(new ConsoleSpanExporter());
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'inventory-gateway' }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: spanExporters.map((e) => new BatchSpanProcessor(e)) });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.test(req.url ?? ''),
        // Webhooks use fetch (not node:http); the OTLP exporter's own requests are never traced.
        disableOutgoingRequestInstrumentation: true,
        // GET /graphql?query=…&variables=… would put documents and values in the URL attributes.
        redactedQueryParamsServer: ['query', 'variables', 'extensions', 'operationName'],
      }),
      // No pg-pool.connect spans: the wait for a connection is a metric (inventory_db_pool_wait_seconds).
      new PgInstrumentation({
        requireParentSpan: true,
        enhancedDatabaseReporting: false,
        ignoreConnectSpans: true,
        // The hot statements are several KB of SQL (the stock writer: ~6 KB), sent with every span:
        // their first KB and their prepared-statement name (db.postgresql.plan) identify them.
        requestHook: (span, { query }) => {
          if (query.text.length > SQL_TEXT_MAX) span.setAttribute('db.query.text', `${query.text.slice(0, SQL_TEXT_MAX)}…`);
        },
      }),
      new GraphQLInstrumentation({ ignoreResolveSpans: true, allowValues: false, mergeItems: true }),
    ],
  });
  setTracingApi(api, api.trace.getTracer('inventory-gateway'));
  setLogMixin(logTraceFields);
  setTracingShutdown(() => provider.shutdown());
}
