import { CoalescedLoop } from '../../src/util/coalesced-loop';

async function until(cond: () => boolean, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('deadline passed');
    await new Promise((r) => setImmediate(r));
  }
}

test('pokes during a run cause exactly one more run; never two at once', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release!: () => void;
  const loop = new CoalescedLoop(
    async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await new Promise<void>((r) => (release = r));
      running--;
    },
    60_000,
    () => undefined,
  );
  loop.poke();
  await until(() => runs === 1);
  for (let i = 0; i < 10; i++) loop.poke();
  release();
  await until(() => runs === 2 && running === 0);
  await loop.stop();
  expect(runs).toBe(2);
  expect(maxRunning).toBe(1);
});

test('a failing run is reported and the loop goes on; after stop nothing runs', async () => {
  const errors: string[] = [];
  let runs = 0;
  const loop = new CoalescedLoop(
    async () => {
      runs++;
      throw new Error(`boom ${runs}`);
    },
    60_000,
    (e) => errors.push(e.message),
  );
  loop.poke();
  await until(() => errors.length === 1);
  loop.poke();
  await until(() => errors.length === 2);
  await loop.stop();
  loop.poke();
  expect(runs).toBe(2);
  expect(errors).toEqual(['boom 1', 'boom 2']);
});

test('the interval runs the job without a poke', async () => {
  let runs = 0;
  const loop = new CoalescedLoop(
    async () => void runs++,
    10,
    () => undefined,
  );
  loop.start();
  await until(() => runs >= 2);
  await loop.stop();
  expect(runs).toBeGreaterThanOrEqual(2);
});

test('minGapMs spaces the starts of runs; pokes within the gap join one run; a poke after a quiet spell runs at once', async () => {
  // The job notes its start a moment after the loop does: on a loaded machine the process can be
  // descheduled in between (a stressed CI run saw 12 ms). Hence a gap of 200 ms and margins of 50 ms.
  const GAP = 200;
  const starts: number[] = [];
  const loop = new CoalescedLoop(
    async () => {
      starts.push(performance.now());
    },
    60_000,
    () => undefined,
    GAP,
  );
  const t0 = performance.now();
  loop.poke();
  await until(() => starts.length === 1);
  expect(starts[0] - t0).toBeLessThan(GAP / 2); // the first poke did not wait
  // A burst of pokes right after it: one more run, a gap after the first start.
  for (let i = 0; i < 20; i++) loop.poke();
  await until(() => starts.length === 2 && !loop.busy);
  expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(GAP - 50);
  // After a quiet spell longer than the gap, a poke runs at once.
  const quiet = performance.now();
  await until(() => performance.now() - quiet > GAP * 1.5);
  const t1 = performance.now();
  loop.poke();
  await until(() => starts.length === 3);
  expect(starts[2] - t1).toBeLessThan(GAP / 2);
  await loop.stop();
  expect(starts).toHaveLength(3);
});

test('a poke that comes in the same tick as the end of a run, after its last check, is not lost', async () => {
  // The poke comes from a microtask chain of every depth from 0 to 12, started by the job: at some
  // depth it lands after the run's loop has decided to end but before the loop is marked idle.
  const lost: number[] = [];
  for (let depth = 0; depth <= 12; depth++) {
    let runs = 0;
    const loop = new CoalescedLoop(
      async () => {
        runs++;
        if (runs !== 1) return;
        let p = Promise.resolve();
        for (let i = 0; i < depth; i++) p = p.then(() => undefined);
        void p.then(() => loop.poke());
      },
      60_000,
      () => undefined,
    );
    loop.poke();
    try {
      await until(() => runs === 2, 500);
    } catch {
      lost.push(depth);
    }
    await loop.stop();
  }
  expect(lost).toEqual([]);
});
