import fs from 'node:fs';
import path from 'node:path';

/** The project root (the folder holding package.json), from src/ or dist/src/. */
export const projectRoot: string = (() => {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'prisma'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('project root not found');
    dir = up;
  }
})();

export const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');
