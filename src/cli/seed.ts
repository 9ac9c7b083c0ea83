/** `npm run seed`: loads the demo data (store "demo") into the configured database. */
import { fail, withApp } from './common';
import { DEMO_STORE, seedDemo, writeDevKeyFile } from '../modules/demo/demo';

withApp(async (app) => {
  const r = await seedDemo(app);
  if (!r) {
    process.stdout.write(`Store "${DEMO_STORE}" already exists; nothing to do.\n`);
    return;
  }
  const file = writeDevKeyFile(app.config, r.devKey);
  process.stdout.write(`Demo data loaded into store "${DEMO_STORE}".\nAdmin API key: ${r.devKey}\n(saved to ${file})\n`);
}).catch(fail);
