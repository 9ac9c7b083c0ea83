import { parsePartition, partitionName, partitionWidth, planPartitions, type Partition } from '../../src/events/event-log';
import { readStreamsSql } from '../../src/events/outbox';

const H = 3_600_000;

describe('event log partitions', () => {
  test('the width is a quarter of the retention, at least a second', () => {
    expect(partitionWidth(72 * H)).toBe(18 * H);
    expect(partitionWidth(10_000)).toBe(2_500);
    expect(partitionWidth(2_000)).toBe(1_000);
  });

  test('names carry their bounds', () => {
    const name = partitionName(1_700_000_000_000, 1_700_000_002_500);
    expect(name).toBe('event_log_p1700000000000_1700000002500');
    expect(parsePartition(name)).toEqual({ name, from: 1_700_000_000_000, to: 1_700_000_002_500 });
    expect(parsePartition('event_log_default')).toBeNull();
    expect(parsePartition('event_log_p1_2')).toBeNull();
  });

  test('creates the current slot and two ahead, aligned, once', () => {
    const now = 1_700_000_001_234;
    const { create, drop } = planPartitions([], now, 10_000);
    expect(create.map((p) => [p.from, p.to])).toEqual([
      [1_700_000_000_000, 1_700_000_002_500],
      [1_700_000_002_500, 1_700_000_005_000],
      [1_700_000_005_000, 1_700_000_007_500],
    ]);
    expect(drop).toEqual([]);
    expect(planPartitions(create, now, 10_000).create).toEqual([]);
    // A second later nothing new is due; at the next slot boundary one more partition is.
    expect(planPartitions(create, now + 1000, 10_000).create).toEqual([]);
    expect(planPartitions(create, 1_700_000_002_500, 10_000).create.map((p) => p.from)).toEqual([1_700_000_007_500]);
  });

  test('drops a partition once its newest possible row is older than the retention', () => {
    const parts: Partition[] = [0, 1, 2, 3, 4, 5, 6].map((i) => ({
      name: partitionName(i * 2500, (i + 1) * 2500),
      from: i * 2500,
      to: (i + 1) * 2500,
    }));
    // now = 15,000: rows older than 5,000 are past retention; [0, 2500) and [2500, 5000) hold only such rows.
    expect(planPartitions(parts, 15_000, 10_000).drop.map((p) => p.from)).toEqual([0, 2500]);
    expect(planPartitions(parts, 14_999, 10_000).drop.map((p) => p.from)).toEqual([0]);
  });

  test('skips slots that overlap existing partitions of another width, or rows of the default partition', () => {
    const old: Partition = { name: partitionName(0, 18 * H), from: 0, to: 18 * H };
    // Retention shortened from 72 h to 10 s: the old wide partition still covers now.
    expect(planPartitions([old], 1000, 10_000).create.map((p) => p.from)).toEqual([]);
    expect(planPartitions([old], 18 * H - 1000, 10_000).create.map((p) => p.from)).toEqual([18 * H, 18 * H + 2500]);
    // Stray rows in the default partition at 2,600 ms: the slot [2500, 5000) cannot be created.
    expect(planPartitions([], 1000, 10_000, { from: 2600, to: 2600 }).create.map((p) => p.from)).toEqual([0, 5000]);
  });
});

describe('reading streams', () => {
  test('one lateral read per store, from its position; nothing to read without stores', () => {
    expect(readStreamsSql(new Map(), 500)).toBeNull();
    const sql = readStreamsSql(new Map([['0b8c3f7e-6a51-4e53-9a59-3f0c1c2b1a00', 41]]), 500)!;
    expect(sql).toContain(`('0b8c3f7e-6a51-4e53-9a59-3f0c1c2b1a00'::uuid, 41::bigint)`);
    expect(sql).toContain('LIMIT 500');
  });
  test('refuses anything but a store id and a non-negative integer', () => {
    expect(() => readStreamsSql(new Map([["x'); DROP TABLE event_log; --", 1]]), 500)).toThrow(/not a store id/);
    expect(() => readStreamsSql(new Map([['0b8c3f7e-6a51-4e53-9a59-3f0c1c2b1a00', -1]]), 500)).toThrow(/non-negative integer/);
    expect(() => readStreamsSql(new Map([['0b8c3f7e-6a51-4e53-9a59-3f0c1c2b1a00', 1.5]]), 500)).toThrow(/non-negative integer/);
  });
});
