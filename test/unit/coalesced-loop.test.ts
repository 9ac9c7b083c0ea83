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
