#!/usr/bin/env node
/**
 * Builds dist/ with TypeScript. npm runs this (the `prepare` script) before `npm pack` and
 * `npm publish`, after `npm install` in this folder, for a git install (after installing the
 * devDependencies) and for a folder install (`npm install ../client`), where npm links the folder
 * without installing its devDependencies: then they are installed here first.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const dir = path.resolve(__dirname, '..');
const findTsc = () => {
  try {
    return require.resolve('typescript/bin/tsc', { paths: [dir] });
  } catch {
    return null;
  }
};

let tsc = findTsc();
if (!tsc) {
  process.stderr.write('@inventory/client: installing its build tools (devDependencies) to build dist/\n');
  const args = ['install', '--no-save', '--ignore-scripts', '--include=dev', '--no-audit', '--no-fund'];
  const npm = process.env.npm_execpath;
  const r =
    npm && /\.c?js$/.test(npm)
      ? spawnSync(process.execPath, [npm, ...args], { cwd: dir, stdio: 'inherit' })
      : spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  tsc = findTsc();
  if (!tsc) {
    process.stderr.write('@inventory/client: TypeScript is still missing; run `npm install` in this folder\n');
    process.exit(1);
  }
}
const r = spawnSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'inherit' });
process.exit(r.status ?? 1);
