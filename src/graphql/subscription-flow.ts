/**
 * Flow control of subscriptions, the parts that hold no sockets: the per-subscription event queue,
 * the choice of whom to cut off when subscription memory is over its cap, and the close reasons.
 *
 * Who is to blame: a subscriber is cut off (close 4290) only for what IT does not do, drain its
 * socket. Events waiting to be rendered are the server's lag: they never count against it (a
 * subscription whose queue is full catches up from the outbox instead, see EventSource).
 */

/** A first-in first-out queue with O(1) push, shift and indexed reads. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(x: T): void {
    this.items.push(x);
  }
  at(i: number): T | undefined {
    return this.items[this.head + i];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * Whom to cut off when subscription memory is `excess` bytes over its cap: the subscribers with the
 * largest undrained backlog first (the slowest readers), as few as free at least `excess`. Ties go
 * to the one backlogged longest (the oldest unsent frame). Only backlogs count: `backlog` is what a
 * subscriber's socket has not taken.
 */
export function pickVictims<T>(candidates: Iterable<T>, excess: number, backlog: (x: T) => number, since: (x: T) => number): T[] {
  if (excess <= 0) return [];
  const list = [...candidates].filter((x) => backlog(x) > 0);
  list.sort((a, b) => backlog(b) - backlog(a) || since(a) - since(b));
  const out: T[] = [];
  let freed = 0;
  for (const x of list) {
    if (freed >= excess) break;
    out.push(x);
    freed += backlog(x);
  }
  return out;
}

/** The longest a WebSocket close reason may be (RFC 6455: 123 bytes of UTF-8). */
export const CLOSE_REASON_MAX = 123;

/** The 4290 close reason: why, and the cursor to resume from (the last event written before the close). */
export function slowReason(why: string, cursor: string): string {
  const tail = `; resume with after: "${cursor}"`;
  return why.slice(0, CLOSE_REASON_MAX - tail.length) + tail;
}
