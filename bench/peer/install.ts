/**
 * Vendure's scratch install for `npm run bench:vendure`: a directory outside the repository (never a
 * dependency of this package) holding `@vendure/core@<pinned>` and `pg`, installed with the ordinary
 * npm client and reused when it already holds that version. Its two install scripts need no network:
 * bcrypt@6 (`node-gyp-build`) loads a prebuilt binary shipped inside the npm package, and
 * @apollo/protobufjs' postinstall only checks version schemes. No sharp (no AssetServerPlugin).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function installedVersion(dir: string): string | null {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', '@vendure', 'core', 'package.json'), 'utf8')) as {
      version: string;
    };
    return fs.existsSync(path.join(dir, 'node_modules', 'pg', 'package.json')) ? p.version : null;
  } catch {
    return null;
  }
}

export function ensureVendure(dir: string, version: string, log: (s: string) => void): { version: string } {
  const have = installedVersion(dir);
  if (have === version) {
    log(`vendure: using @vendure/core ${have} in ${dir}`);
    return { version: have };
  }
  fs.mkdirSync(dir, { recursive: true });
  const pkg = path.join(dir, 'package.json');
  if (!fs.existsSync(pkg)) fs.writeFileSync(pkg, JSON.stringify({ name: 'inventory-peer-vendure', private: true }, null, 2) + '\n');
  log(`vendure: installing @vendure/core@${version} and pg into ${dir} (npm, about 30 s)`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `@vendure/core@${version}`, 'pg@8'], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const now = installedVersion(dir);
  if (now !== version) throw new Error(`vendure: ${dir} holds @vendure/core ${now ?? 'nothing'} after npm install, not ${version}`);
  return { version: now };
}
