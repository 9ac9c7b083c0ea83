/** `npm run seed`: see src/commands/seed.ts. */
import { runCli } from './run';

runCli('seed');
