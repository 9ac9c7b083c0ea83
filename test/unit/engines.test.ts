/**
 * `npm install` on the Node version the gateway supports prints no EBADENGINE warning: every
 * package in the lockfile (dev tools included) accepts this Node (package.json "overrides" pin the
 * few transitive dependencies whose newest releases want Node 22).
 */
import fs from 'node:fs';
import path from 'node:path';

const semver = require('semver') as { satisfies(v: string, range: string): boolean; minVersion(r: string): { version: string } | null };

const root = path.resolve(__dirname, '..', '..');

test('every locked package supports the Node versions package.json "engines" promises', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
  };
  // This Node, and the oldest release of each line package.json accepts.
  const versions = [process.versions.node, ...pkg.engines.node.split('||').map((r) => semver.minVersion(r.trim())!.version)];
  expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
  const refused: string[] = [];
  for (const [where, info] of Object.entries(lock.packages)) {
    const node = !Array.isArray(info.engines) ? info.engines?.node : undefined;
    if (!where || !node) continue;
    for (const v of versions) {
      if (!semver.satisfies(v, node)) refused.push(`${where}@${info.version} wants node ${node} (not ${v})`);
    }
  }
  expect(refused).toEqual([]);
});
