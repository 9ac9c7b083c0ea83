/** `npm run schema:emit`: writes schema.graphql from the type-graphql classes. */
import fs from 'node:fs';
import path from 'node:path';
import { schemaSdl } from '../server/schema';
import { projectRoot } from '../paths';

void schemaSdl().then((sdl) => {
  const file = path.join(projectRoot, 'schema.graphql');
  fs.writeFileSync(file, sdl);
  process.stdout.write(`wrote ${file}\n`);
});
