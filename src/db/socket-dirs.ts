/**
 * The embedded database's socket directory: `<tmp>/pglite-<pid>-XXXXXX/.s.PGSQL.5432`, where the
 * gateway's own pg pool and Prisma reach PGlite (./client.ts). A clean shutdown removes it; a
 * gateway killed without one (SIGKILL, the OOM killer, a power cut) leaves it behind. So each
 * embedded start first removes the directories of such gateways: those whose process is gone and
 * whose socket, if any, refuses connections. Both, because a /tmp shared between PID namespaces
 * (containers) may hold a live gateway whose pid means nothing here: its socket still answers.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SOCKET_FILE = '.s.PGSQL.5432';
const NAME = /^pglite-(\d+)-[^/]+$/;

/** Whether a process `pid` exists here (EPERM: it does, another user's). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether something accepts connections on the Unix socket `file` (false when it is missing). */
function answers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(file);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Removes the socket directories under `tmp` left by gateways that no longer run; returns how many.
 * Directories of other users, and any it cannot read or remove, are left alone.
 */
export async function sweepSocketDirs(tmp: string = os.tmpdir()): Promise<number> {
  let names: string[];
  try {
    names = fs.readdirSync(tmp);
  } catch {
    return 0;
  }
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || processExists(pid)) continue;
    const dir = path.join(tmp, name);
    try {
      const st = fs.lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      if (await answers(path.join(dir, SOCKET_FILE))) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}

/** A new socket directory for this process, after sweeping the stale ones. */
export async function makeSocketDir(tmp: string = os.tmpdir()): Promise<{ dir: string; swept: number }> {
  const swept = await sweepSocketDirs(tmp);
  return { dir: fs.mkdtempSync(path.join(tmp, `pglite-${process.pid}-`)), swept };
}
