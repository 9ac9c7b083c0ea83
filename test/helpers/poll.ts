/**
 * Waiting in tests: poll a condition until it holds or a deadline passes (never "sleep, then
 * assert"). The deadline is a failure with what was awaited in the message, not a pass.
 */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await cond()) return;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Until the database's clock is past `at` (an ISO timestamp, e.g. a reservation's expiresAt): for
 * waits on expiry, instead of sleeping for the TTL.
 */
export function pastInDatabase(
  db: { query(sql: string, values: unknown[]): Promise<{ rows: { due: boolean }[] }> },
  at: string,
  timeoutMs = 15_000,
): Promise<void> {
  return eventually(
    `the database clock to pass ${at}`,
    async () => (await db.query('SELECT now() > $1::timestamptz AS due', [at])).rows[0].due,
    timeoutMs,
    50,
  );
}

/**
 * Until `count()` reaches 0, for as long as it keeps going down: fails when it has not gone below its
 * lowest value for `stallMs` (a stalled consumer), not after a fixed time (a slow one, on a loaded
 * machine, still gets there). Returns how long it took.
 */
export async function drains(what: string, count: () => Promise<number>, stallMs = 60_000, everyMs = 200): Promise<number> {
  const start = Date.now();
  let lowest = Infinity;
  let progressAt = start;
  for (;;) {
    const n = await count();
    if (n === 0) return Date.now() - start;
    if (n < lowest) [lowest, progressAt] = [n, Date.now()];
    if (Date.now() - progressAt > stallMs)
      throw new Error(`${what}: stuck at ${lowest} for ${stallMs} ms (${Math.round((Date.now() - start) / 1000)} s after the wait began)`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
