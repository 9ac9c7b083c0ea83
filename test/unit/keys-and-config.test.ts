/** What key:revoke accepts, and settings that cannot work together. */
import { loadConfig } from '../../src/config';
import { hashKey, revokeTarget } from '../../src/modules/auth/keys.service';

test('revoke matches the id, the prefix as key:list prints it (with or without the ellipsis), or the whole key', () => {
  const key = 'sk_CmO33_0abcdefghijklmnopqrstuvwxy'; // sk_ + 32 characters
  expect(key.length).toBe(35);
  expect(revokeTarget('sk_CmO33_0…')).toEqual({ id: null, prefix: 'sk_CmO33_0', hash: null });
  expect(revokeTarget('sk_CmO33_0...')).toEqual({ id: null, prefix: 'sk_CmO33_0', hash: null });
  expect(revokeTarget(' sk_CmO33_0 ')).toEqual({ id: null, prefix: 'sk_CmO33_0', hash: null });
  expect(revokeTarget(key)).toEqual({ id: null, prefix: null, hash: hashKey(key) });
  expect(revokeTarget('2348048A-6976-420e-8a56-bf989bb5c8c6')).toEqual({
    id: '2348048a-6976-420e-8a56-bf989bb5c8c6',
    prefix: null,
    hash: null,
  });
  // Anything else matches nothing (a shorter prefix could name several keys).
  for (const s of ['sk_CmO33', 'sk_CmO33_0abc', '', 'hello']) expect(revokeTarget(s)).toEqual({ id: null, prefix: null, hash: null });
});

test('a rate-limit bucket smaller than the largest allowed query cost is refused at start', () => {
  expect(() => loadConfig({ RATE_LIMIT_BUCKET_SIZE: '1000', MAX_QUERY_COST: '5000' })).toThrow(
    /^Invalid configuration: RATE_LIMIT_BUCKET_SIZE \(1000\) is smaller than MAX_QUERY_COST \(5000\)/,
  );
  expect(() => loadConfig({ RATE_LIMIT_BUCKET_SIZE: '4999' })).toThrow(/RATE_LIMIT_BUCKET_SIZE/);
  expect(loadConfig({ RATE_LIMIT_BUCKET_SIZE: '5000' }).rateLimitBucketSize).toBe(5000);
  expect(loadConfig({ RATE_LIMIT_BUCKET_SIZE: '0', MAX_QUERY_COST: '100000' }).rateLimitBucketSize).toBe(0); // disabled
  expect(() => loadConfig({ PUBLISHABLE_TRUSTED_ONLY: 'true' })).toThrow(
    /PUBLISHABLE_TRUSTED_ONLY is true but TRUSTED_DOCUMENTS is not set/,
  );
});
