/** Entry point of `npm start`. */
// First: with OTEL_* tracing on, the SDK must be loaded before pg and graphql.
import './observability/preload';
import 'reflect-metadata';
import { configOrReport, loadConfig } from './config';
import { createLogger } from './log';
import { shutdownTracing } from './observability/tracing';
import { startGateway } from './server';
import { describeStartupError } from './startup-error';

async function main() {
  const config = configOrReport(() => loadConfig());
  if (!config) process.exit(1);
  const log = createLogger(config.logLevel);
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, log);
  } catch (e) {
    // One line: the cause and the fix.
    process.stderr.write(`Startup failed: ${describeStartupError(e, config)}\n`);
    process.exit(1);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) process.exit(1);
    log.info('signal received', { signal });
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    gateway.stop().then(
      () => shutdownTracing().finally(() => process.exit(0)),
      (e) => {
        log.error('shutdown failed', { err: (e as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
