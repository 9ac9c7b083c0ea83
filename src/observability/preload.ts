/**
 * First import of the entry point: with tracing requested by the OTEL_* variables, loads and
 * starts the OpenTelemetry SDK before pg and graphql are required (their instrumentations patch
 * them on load). With tracing off it loads nothing.
 */
import { tracingRequested } from './tracing';

if (tracingRequested()) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./otel-sdk') as typeof import('./otel-sdk')).startTracing();
}
