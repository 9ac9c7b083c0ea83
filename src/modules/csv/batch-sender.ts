/** Sends one batch of an import through the bulk path, with its idempotency key `<seed>:<n>`. */
import { ErrorCode, UnavailableError } from '../../graphql/errors';
import type { AuthInfo } from '../../graphql/scopes';
import type { BulkItem, BulkResult, InventoryService } from '../inventory';
import type { MovementReason } from '../stock';
import { CsvImportError } from './import-types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BatchTarget {
  service: InventoryService;
  auth: AuthInfo;
  seed: string;
  reason: MovementReason | null;
}

/**
 * The bulk call of batch n. An unavailable database is retried (3 times, backing off); a batch that
 * another run with the same seed holds right now is waited for (6 times). Any other failure stops
 * the import with a message that says how to resume.
 */
export async function sendBatch(t: BatchTarget, items: BulkItem[], n: number): Promise<BulkResult> {
  const key = `${t.seed}:${n}`;
  for (let attempt = 0; ; attempt++) {
    let r: BulkResult;
    try {
      r = await t.service.bulkUpdate(t.auth, { items, errorPolicy: 'REJECT_FAILED_ROWS', reason: t.reason, idempotencyKey: key });
    } catch (e) {
      if (e instanceof UnavailableError && attempt < 3) {
        await sleep(500 * 2 ** attempt);
        continue;
      }
      throw new CsvImportError(
        `batch ${n} (idempotency key ${key}) failed: ${(e as Error).message}. The batches that succeeded are committed; ` +
          `run the same command again (same seed) to resume: they are replayed, not applied twice`,
      );
    }
    // Another run with the same seed holds this batch right now: wait for its outcome.
    if (r.userErrors[0]?.code === ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS && attempt < 6) {
      await sleep(250 * 2 ** attempt);
      continue;
    }
    return r;
  }
}
