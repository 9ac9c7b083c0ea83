import { parseQuota } from '../../src/modules/auth/quota';

test('quotas are written as points per day or month', () => {
  expect(parseQuota('100000/day')).toEqual({ points: 100000, period: 'DAY' });
  expect(parseQuota(' 5000000 / MONTH ')).toEqual({ points: 5000000, period: 'MONTH' });
  for (const bad of ['', '10', '10/week', '-5/day', '1.5/day', 'x/day', '1e9/day']) expect(parseQuota(bad)).toBeNull();
});
