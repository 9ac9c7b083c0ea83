/** `npm run seed`: loads the demo data (store "demo") into the configured database. */
import type { CommandContext } from './io';
import { DEMO_STORE, seedDemo, writeDevKeyFile } from '../modules/demo/demo';

export async function run({ io, app: open }: CommandContext): Promise<number> {
  const app = await open();
  const r = await seedDemo(app);
  if (!r) {
    io.stdout.write(`Store "${DEMO_STORE}" already exists; nothing to do.\n`);
    return 0;
  }
  const file = writeDevKeyFile(app.config, r.devKey);
  io.stdout.write(
    `Demo data loaded into store "${DEMO_STORE}".\nAdmin API key: ${r.devKey}\n${file ? `(saved to ${file})` : '(not saved to a file: keep it now)'}\n`,
  );
  return 0;
}
