/** Rate limit of webhook failure logs (pure; the clock is injected). */
import { FailureLog } from '../../src/modules/webhooks/failure-log';

test('the first failure is logged, then at most one line per interval with what was held back', () => {
  let now = 1_000_000;
  const f = new FailureLog(60_000, () => now);
  expect(f.failure('a', 'ECONNREFUSED')).toEqual({ log: true, suppressed: 0, suppressedCauses: {}, failures: 1 });
  let logged = 0;
  // A dead endpoint: 1,519 failures in six minutes (one every ~237 ms).
  for (let i = 0; i < 1519; i++) {
    now += 237;
    const d = f.failure('a', i % 100 === 0 ? 'TIMEOUT' : 'ECONNREFUSED');
    if (d.log) {
      logged++;
      expect(d.suppressed).toBeGreaterThan(0);
      expect(Object.values(d.suppressedCauses).reduce((a, b) => a + b, 0)).toBe(d.suppressed);
    }
  }
  expect(logged).toBeLessThanOrEqual(6);
  expect(logged).toBeGreaterThanOrEqual(5);
});

test('subscriptions are limited separately; a success ends the run and is reported once', () => {
  let now = 0;
  const f = new FailureLog(1000, () => now);
  expect(f.failure('a', 'HTTP_STATUS').log).toBe(true);
  expect(f.failure('b', 'HTTP_STATUS').log).toBe(true);
  expect(f.failure('a', 'HTTP_STATUS').log).toBe(false);
  now = 1000;
  expect(f.failure('a', 'TIMEOUT')).toEqual({ log: true, suppressed: 1, suppressedCauses: { HTTP_STATUS: 1 }, failures: 3 });
  expect(f.success('a')).toBe(3);
  expect(f.success('a')).toBe(0);
  expect(f.failure('a', 'TIMEOUT').log).toBe(true); // a new run is logged at once
  f.forget('b');
  expect(f.size).toBe(1);
});
