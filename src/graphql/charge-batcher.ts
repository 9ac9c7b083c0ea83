/** Group commit of rate-limit charges: one bucket update per key per round trip. */
import type { Tx } from '../db/tx';
import { charge, type BucketConfig, type Charge } from '../modules/auth/rate-limit';

/**
 * Charges of one key that arrive while a charge of that key is in flight are sent together, as ONE
 * charge of their summed cost (group commit): the bucket row of a busy key is then updated once per
 * round trip instead of once per request, so requests do not queue on its row lock. When the sum
 * fits, every request is granted and reports the bucket as if the batch had been charged one after
 * the other in arrival order (all at the same instant); when it does not, the batch falls back to
 * one charge per request in arrival order, exactly as without batching.
 */
export class ChargeBatcher {
  private readonly queues = new Map<string, { cost: number; tx: Tx; resolve: (c: Charge) => void; reject: (e: unknown) => void }[]>();

  constructor(private readonly bucket: BucketConfig) {}

  charge(tx: Tx, keyId: string, cost: number): Promise<Charge> {
    return new Promise((resolve, reject) => {
      const q = this.queues.get(keyId);
      if (q) return void q.push({ cost, tx, resolve, reject });
      this.queues.set(keyId, []);
      void this.run(keyId, [{ cost, tx, resolve, reject }]);
    });
  }

  private async run(keyId: string, batch: { cost: number; tx: Tx; resolve: (c: Charge) => void; reject: (e: unknown) => void }[]): Promise<void> {
    for (;;) {
      try {
        const c = await charge(batch[0].tx, keyId, batch.reduce((s, b) => s + b.cost, 0), this.bucket);
        if (batch.length === 1 || c.granted) {
          // Request i sees what is left after its own charge: the end state plus the later costs.
          let later = 0;
          for (let i = batch.length - 1; i >= 0; i--) {
            batch[i].resolve({ ...c, status: { ...c.status, currentlyAvailable: c.status.currentlyAvailable + later } });
            later += batch[i].cost;
          }
        } else {
          for (const b of batch) b.resolve(await charge(b.tx, keyId, b.cost, this.bucket));
        }
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
      const next = this.queues.get(keyId)!;
      if (next.length === 0) {
        this.queues.delete(keyId);
        return;
      }
      batch = next.splice(0);
    }
  }
}

