/**
 * BucketLeases (src/modules/auth/bucket-leases.ts) against a model of the shared bucket: the same
 * contract as the two SQL statements (take: refill, then take min(level, want) if need fits; give
 * back: capped at the size), with a clock the test moves. test/e2e/rate-limit-leases.test.ts runs
 * the real statements with two gateways sharing a key.
 */
import { BucketLeases, leaseSize, type BucketConfig, type SharedBucket } from '../../src/modules/auth/bucket-leases';
import { rng } from '../helpers/rng';

class ModelBucket implements SharedBucket {
  level: number;
  statements = 0;
  private at: number;
  constructor(
    private readonly cfg: BucketConfig,
    private readonly clock: { now: number },
  ) {
    this.level = cfg.size;
    this.at = clock.now;
  }
  private refill() {
    this.level = Math.min(this.cfg.size, this.level + ((this.clock.now - this.at) / 1000) * this.cfg.restoreRate);
    this.at = this.clock.now;
  }
  async take(_key: string, need: number, want: number) {
    this.statements++;
    await Promise.resolve();
    this.refill();
    const level = this.level;
    if (level < need) return { taken: 0, level };
    const taken = Math.min(level, want);
    this.level -= taken;
    return { taken, level };
  }
  async giveBack(_key: string, points: number) {
    this.statements++;
    this.refill();
    this.level = Math.min(this.cfg.size, this.level + points);
  }
}

const setup = (cfg: BucketConfig) => {
  const clock = { now: 0 };
  const shared = new ModelBucket(cfg, clock);
  const make = () => new BucketLeases(cfg, shared, () => clock.now);
  return { clock, shared, make };
};

describe('BucketLeases', () => {
  it('leases 5 % of the bucket (at most 0.5 s of refill) beyond the need', () => {
    expect(leaseSize({ size: 20_000, restoreRate: 1_000 })).toBe(500);
    expect(leaseSize({ size: 20_000, restoreRate: 100_000 })).toBe(1_000);
    expect(leaseSize({ size: 1_000, restoreRate: 20 })).toBe(10);
  });

  it('charges most requests without a statement', async () => {
    const { shared, make } = setup({ size: 20_000, restoreRate: 1_000 });
    const l = make();
    const charges = [];
    for (let i = 0; i < 100; i++) charges.push(await l.charge('k', 10));
    expect(charges.every((c) => c.granted)).toBe(true);
    // 100 × 10 points from leases of 10 + 500: two statements, not 100.
    expect(shared.statements).toBe(2);
    // Each response reports what is left after its own charge.
    expect(charges[0].status.currentlyAvailable).toBe(20_000 - 10);
    expect(charges[99].status.currentlyAvailable).toBe(20_000 - 1_000);
    await l.close();
    expect(shared.level).toBe(20_000 - 1_000);
  });

  it('serves concurrent charges of one key with one statement, in arrival order', async () => {
    const { shared, make } = setup({ size: 1_000_000, restoreRate: 1_000 });
    const l = make();
    const got = await Promise.all(Array.from({ length: 50 }, () => l.charge('k', 7)));
    expect(got.every((c) => c.granted)).toBe(true);
    expect(shared.statements).toBe(1);
    expect(got.map((c) => c.status.currentlyAvailable)).toEqual(Array.from({ length: 50 }, (_, i) => 1_000_000 - 7 * (i + 1)));
  });

  it('refuses what does not fit, takes nothing for it, and tells when it will', async () => {
    const { shared, make } = setup({ size: 1_000, restoreRate: 20 });
    const l = make();
    const [a, b] = await Promise.all([l.charge('k', 550), l.charge('k', 550)]);
    expect(a.granted).toBe(true);
    expect(b.granted).toBe(false);
    expect(b.status.currentlyAvailable).toBeLessThan(550);
    // 550 − (1000 − 550 − lease 10 + lease 10 left) = 100 points at 20/s.
    expect(b.retryAfterMs).toBe(5_000);
    await l.close();
    expect(shared.level).toBe(450);
  });

  it('gives refunds to the lease and unused leases back at close', async () => {
    const { shared, make } = setup({ size: 1_000, restoreRate: 20 });
    const l = make();
    const c = await l.charge('k', 300);
    expect(c.granted).toBe(true);
    expect(l.refund('k', 200)).toBe(900);
    expect(shared.level).toBe(1_000 - 310);
    await l.close();
    expect(shared.level).toBe(900);
  });

  it('returns refunds beyond the lease size to the shared bucket shortly after, in one statement', async () => {
    const { shared, make } = setup({ size: 1_000, restoreRate: 20 });
    const l = make();
    expect((await l.charge('k', 300)).granted).toBe(true);
    const before = shared.statements;
    l.refund('k', 100);
    l.refund('k', 100);
    // A deadline, not a wait: a worker of a loaded CI machine can be stalled for seconds.
    const deadline = Date.now() + 15_000;
    while (shared.level !== 890 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // 1000 − (300 + 10 leased) + 200 refunded; the 10-point lease stays with the instance.
    expect(shared.level).toBe(890);
    expect(shared.statements - before).toBe(1);
    await l.close();
    expect(shared.level).toBe(900);
  });

  it('never grants more than the bucket holds across instances (seeded random load)', async () => {
    const seed = 20261130;
    const r = rng(seed);
    const cfg = { size: 5_000, restoreRate: 100 };
    const { clock, shared, make } = setup(cfg);
    const instances = [make(), make(), make()];
    let granted = 0;
    let refunded = 0;
    for (let round = 0; round < 200; round++) {
      clock.now += Math.floor(r() * 50);
      const batch = Array.from({ length: 1 + Math.floor(r() * 6) }, () => ({ i: Math.floor(r() * 3), cost: 1 + Math.floor(r() * 200) }));
      const out = await Promise.all(batch.map((b) => instances[b.i].charge('k', b.cost)));
      out.forEach((c, j) => {
        if (!c.granted) return;
        granted += batch[j].cost;
        if (r() < 0.3) {
          const back = Math.floor(batch[j].cost / 2);
          refunded += back;
          instances[batch[j].i].refund('k', back);
        }
      });
      expect(shared.level).toBeGreaterThanOrEqual(0);
    }
    // Everything granted came out of the bucket: its size plus its refill over the run.
    expect(granted - refunded).toBeLessThanOrEqual(cfg.size + (clock.now / 1000) * cfg.restoreRate);
    await Promise.all(instances.map((l) => l.close()));
    // With every lease returned, the bucket is exactly what was not used (nothing lost, nothing made).
    const refill = (clock.now / 1000) * cfg.restoreRate;
    expect(shared.level).toBeLessThanOrEqual(cfg.size);
    expect(shared.level).toBeGreaterThanOrEqual(Math.min(cfg.size, cfg.size - (granted - refunded)) - 1e-9);
    expect(granted).toBeGreaterThan(cfg.size / 2); // the load really exhausted it, for seed ${seed}
    expect(refill).toBeGreaterThan(0);
  });
});
