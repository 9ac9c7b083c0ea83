/**
 * Pure logic of observability: the bounded `operation` label, when OTEL_* turns tracing on, the
 * log redaction, and the mutation payload counters.
 */
import { Writable } from 'node:stream';
import { parse, type OperationDefinitionNode } from 'graphql';
import { createLogger, scrubText } from '../../src/log';
import { m, observeMutationPayload, observeStockChange, OperationNames, register } from '../../src/observability/metrics';
import { currentTraceparent, inTrace, startSpan, tracingOn, tracingRequested } from '../../src/observability/tracing';

const op = (src: string) => parse(src).definitions[0] as OperationDefinitionNode;

describe('OperationNames', () => {
  test('trusted documents keep their names; other names up to the maximum, then "other"', () => {
    const names = new OperationNames(['query Trusted { __typename }', 'not a document {'], 2);
    expect(names.label(op('query Trusted { a }'))).toBe('Trusted');
    expect(names.label(op('query A { a }'))).toBe('A');
    expect(names.label(op('query B { a }'))).toBe('B');
    expect(names.label(op('query C { a }'))).toBe('other');
    expect(names.label(op('query A { b }'))).toBe('A');
    expect(names.label(op('query Trusted { b }'))).toBe('Trusted');
    expect(names.label(op('{ a }'))).toBe('anonymous');
    expect(names.label(null)).toBe('unknown');
  });

  test('maximum 0: only trusted names', () => {
    const names = new OperationNames([], 0);
    expect(names.label(op('query Anything { a }'))).toBe('other');
  });

  test('a name longer than 64 characters is never a label', () => {
    const names = new OperationNames([], 10);
    expect(names.label(op(`query ${'N'.repeat(65)} { a }`))).toBe('other');
  });
});

describe('tracingRequested (the standard OTEL_* variables)', () => {
  test.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, false],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, false],
    [{ OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }, true],
  ])('%j → %s', (env, on) => {
    expect(tracingRequested(env)).toBe(on);
  });

  test('with the SDK not loaded, the facade is inert', async () => {
    expect(tracingOn()).toBe(false);
    expect(inTrace()).toBe(false);
    expect(currentTraceparent()).toBeNull();
    expect(startSpan('x', 'internal', {})).toBeNull();
  });
});

describe('log redaction', () => {
  function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
    let out = '';
    const stream = new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    });
    return {
      stream,
      lines: () =>
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  test('API keys and webhook secrets in text are cut to their kind', () => {
    expect(scrubText('Bearer sk_abcdefghijklmnopqrstuvwx and pk_ABCDEFGHIJ12 whsec_0123456789abc')).toBe(
      'Bearer sk_[redacted] and pk_[redacted] whsec_[redacted]',
    );
    expect(scrubText('sk_short')).toBe('sk_short');
    expect(scrubText('no secrets here')).toBe('no secrets here');
  });

  test('credential fields are redacted, the message comes first, levels are names, LOG_LEVEL filters', () => {
    const c = capture();
    const log = createLogger('info', {}, c.stream as never);
    log.debug('hidden');
    log.info('listening', {
      url: 'http://x',
      authorization: 'Bearer sk_abcdefghijklmnop',
      headers: { authorization: 'a', cookie: 'c' },
      nested: { apiKey: 'k', token: 't' },
    });
    log.child({ requestId: 'r-1' }).warn('failed', { err: new Error('with sk_abcdefghijklmnop inside'), n: 10n });
    const [a, b] = c.lines();
    expect(c.lines()).toHaveLength(2);
    expect(Object.keys(a).slice(0, 4)).toEqual(['level', 'time', 'msg', 'url']);
    expect(a).toMatchObject({
      level: 'info',
      msg: 'listening',
      authorization: '[redacted]',
      headers: { authorization: '[redacted]', cookie: '[redacted]' },
      nested: { apiKey: '[redacted]', token: '[redacted]' },
    });
    expect(b).toMatchObject({
      level: 'warn',
      msg: 'failed',
      requestId: 'r-1',
      err: { name: 'Error', message: 'with sk_[redacted] inside' },
      n: '10',
    });
    expect(JSON.stringify(c.lines())).not.toContain('abcdefghijklmnop');
  });
});

describe('payload counters', () => {
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const metric = (await register.getMetricsAsJSON()).find((x) => x.name === name);
    return metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
  };

  beforeEach(() => {
    m.userErrors.reset();
    m.replays.reset();
    m.reservations.reset();
    m.stockChanges.reset();
    m.expiredUnits.reset();
  });

  test('userErrors by code, replays, reservation events (not for failures or replays)', async () => {
    observeMutationPayload('inventoryReserve', {
      reservation: null,
      userErrors: [{ code: 'INSUFFICIENT_STOCK' }, { code: 'NOT_FOUND' }],
      idempotentReplay: false,
    });
    observeMutationPayload('inventoryReserve', { reservation: { id: 'r' }, userErrors: [], idempotentReplay: false });
    observeMutationPayload('inventoryReserve', { reservation: { id: 'r' }, userErrors: [], idempotentReplay: true });
    observeMutationPayload('reservationCommit', { reservation: { id: 'r' }, userErrors: [] });
    observeMutationPayload('inventoryAdjust', { inventoryLevel: {}, userErrors: [{}], idempotentReplay: false });
    observeMutationPayload('inventoryAdjust', null);
    expect(await value('inventory_graphql_user_errors_total', { code: 'INSUFFICIENT_STOCK' })).toBe(1);
    expect(await value('inventory_graphql_user_errors_total', { code: 'NOT_FOUND' })).toBe(1);
    expect(await value('inventory_graphql_user_errors_total', { code: 'UNKNOWN' })).toBe(1);
    expect(await value('inventory_idempotent_replays_total', { mutation: 'inventoryReserve' })).toBe(1);
    expect(await value('inventory_reservations_total', { event: 'created' })).toBe(1);
    expect(await value('inventory_reservations_total', { event: 'committed' })).toBe(1);
  });

  test('stock changes by reason; an expiry counts once as EXPIRY with its units', async () => {
    observeStockChange('CORRECTION', true, 0);
    observeStockChange('RESERVATION', 3, 0);
    observeStockChange('RESERVATION', true, 2);
    observeStockChange('EXPIRY', false, 5);
    observeStockChange('SALE', false, 0);
    expect(await value('inventory_stock_changes_total', { reason: 'CORRECTION' })).toBe(1);
    expect(await value('inventory_stock_changes_total', { reason: 'RESERVATION' })).toBe(4);
    expect(await value('inventory_stock_changes_total', { reason: 'EXPIRY' })).toBe(2);
    expect(await value('inventory_stock_changes_total', { reason: 'SALE' })).toBe(0);
    expect(await value('inventory_reservation_expired_units_total')).toBe(7);
  });
});
