/** The process-wide dependencies handed to resolvers through the context. */
import type { Config } from './config';
import type { Database } from './db/client';
import type { TxRunner } from './db/tx';
import type { EventHub } from './events/hub';
import type { Logger } from './log';

export interface App {
  config: Config;
  db: Database;
  tx: TxRunner;
  log: Logger;
  /** Set once the gateway is ready: sequencing and fan-out of outbox events. */
  events?: EventHub;
}
