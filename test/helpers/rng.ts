/** Deterministic pseudo-random numbers (mulberry32) in [0, 1): tests seed their randomness with it. */
export function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a randomized test: TEST_SEED when set (to replay a failure), else a new one. */
export function testSeed(): number {
  const env = process.env.TEST_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`TEST_SEED must be an integer, got "${env}"`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/**
 * Runs a randomized test body with a seeded generator; on failure the seed is added to the error
 * (message and stack, which is what jest prints) so the run can be replayed with TEST_SEED.
 */
export async function withSeed<T>(body: (rand: () => number, seed: number) => Promise<T>, seed = testSeed()): Promise<T> {
  try {
    return await body(rng(seed), seed);
  } catch (e) {
    const note = `[random seed ${seed}: replay with TEST_SEED=${seed}]`;
    if (e instanceof Error) e.message = `${note} ${e.message}`;
    throw e;
  }
}
