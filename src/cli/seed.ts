/** `npm run seed`: see src/cli/commands/seed.ts. */
import { runCli } from './run';

runCli('seed');
