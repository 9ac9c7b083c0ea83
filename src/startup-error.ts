/**
 * A startup failure as one line for the operator: what went wrong and what to do about it.
 * (`npm start` prints it on stderr and exits with code 1.)
 */
import path from 'node:path';
import type { Config } from './config';
import { dataDirOwner } from './admin/protocol';

function pgTarget(config: Config): { db: string; user: string; where: string } {
  try {
    const u = new URL(config.databaseUrl ?? '');
    return {
      db: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
      user: decodeURIComponent(u.username) || 'postgres',
      where: `${u.hostname}:${u.port || 5432}`,
    };
  } catch {
    return { db: '?', user: '?', where: '?' };
  }
}

export function describeStartupError(e: unknown, config: Config): string {
  const err = (e ?? {}) as NodeJS.ErrnoException & { code?: string; name?: string; address?: string; port?: number };
  const msg = String(err.message ?? e)
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '');
  const where = `${config.host}:${config.port}`;
  // The metrics listener's own port (METRICS_PORT), not PORT: the error carries the port it failed on.
  if (err.code === 'EADDRINUSE' && config.metricsPort !== null && err.port === config.metricsPort && err.port !== config.port)
    return `METRICS_PORT ${config.metricsPort} (host ${config.metricsHost}) is already in use by another process. Stop that process, or set METRICS_PORT to another port.`;
  if (err.code === 'EADDRINUSE') {
    const owner = !config.databaseUrl && config.dataDir !== 'memory://' ? dataDirOwner(config.dataDir) : null;
    return owner
      ? `port ${config.port} (HOST ${config.host}) is already in use: a gateway (pid ${owner}) already runs on DATA_DIR ${path.resolve(config.dataDir)}. Use that one (npm run key:*, import and export work while it runs), stop it, or start this one with another PORT and DATA_DIR.`
      : `port ${config.port} (HOST ${config.host}) is already in use by another process. Stop that process, or start with another PORT (PORT=0 picks a free one).`;
  }
  if (err.code === 'EACCES' && err.syscall === 'listen')
    return `no permission to listen on ${where}: use a PORT above 1023 (or run with the needed privileges).`;
  if (err.code === 'EADDRNOTAVAIL')
    return `cannot listen on ${where}: HOST ${config.host} is not an address of this machine. Use HOST=0.0.0.0 (all interfaces) or HOST=127.0.0.1.`;
  if (err.name === 'DataDirLockedError') {
    return `${msg}. Use the running gateway (the npm run key:*/import/export commands work while it runs), stop it first, or give this one another DATA_DIR (DATA_DIR=memory:// for a throwaway database).`;
  }
  if (err.name === 'MigrationError') return `${msg}`;
  if (config.databaseUrl) {
    const t = pgTarget(config);
    if (err.code === '3D000')
      return `database "${t.db}" does not exist on ${t.where}. Create it (createdb ${t.db}, or CREATE DATABASE "${t.db}") or point DATABASE_URL at an existing database.`;
    if (err.code === '28P01' || err.code === '28000')
      return `PostgreSQL on ${t.where} refused user "${t.user}" (${msg}). Fix the user or password in DATABASE_URL.`;
    if (err.code === '42501')
      return `user "${t.user}" lacks a privilege on database "${t.db}" (${msg}). Grant it (the gateway creates tables on first start) or use another user in DATABASE_URL.`;
    if (/database unreachable/.test(msg)) return `${msg}. Start PostgreSQL or fix DATABASE_URL.`;
  }
  if (/ENOSPC/.test(msg) || err.code === 'ENOSPC') return `no space left on the device (${msg}). Free some space and start again.`;
  if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS')
    return `${msg}. Check the permissions of DATA_DIR (${path.resolve(config.dataDir)}) or choose another DATA_DIR.`;
  return `${msg}.`;
}
