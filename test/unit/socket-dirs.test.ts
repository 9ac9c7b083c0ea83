/**
 * src/db/socket-dirs.ts: an embedded start removes the socket directories of gateways killed
 * without a shutdown, and only those (its process gone, and nothing answering on its socket).
 * Real directories and Unix sockets under a private temporary directory.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeSocketDir, SOCKET_FILE, sweepSocketDirs } from '../../src/db/socket-dirs';

/** The pid of a process that has exited (spawnSync waits for it). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('socket directories of embedded gateways', () => {
  let tmp: string;
  const servers: net.Server[] = [];
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'socket-dirs-'));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const dir = (name: string, socket: 'none' | 'stale' = 'none') => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d);
    // A socket file nobody listens on, as a SIGKILLed server leaves it.
    if (socket === 'stale') {
      const s = net.createServer();
      return new Promise<string>((resolve) =>
        s.listen(path.join(d, SOCKET_FILE), () => {
          // Closing a server unlinks its socket file: keep a copy of the inode under the same name.
          fs.linkSync(path.join(d, SOCKET_FILE), path.join(d, 'keep'));
          s.close(() => {
            fs.renameSync(path.join(d, 'keep'), path.join(d, SOCKET_FILE));
            resolve(d);
          });
        }),
      );
    }
    return Promise.resolve(d);
  };

  const listening = async (name: string) => {
    const d = await dir(name);
    const s = net.createServer((c) => c.destroy());
    servers.push(s);
    await new Promise<void>((r) => s.listen(path.join(d, SOCKET_FILE), r));
    return d;
  };

  it('removes the directories of gone processes whose socket refuses connections, and nothing else', async () => {
    const dead = deadPid();
    const stale = await dir(`pglite-${dead}-aaaaaa`, 'stale');
    expect(fs.statSync(path.join(stale, SOCKET_FILE)).isSocket()).toBe(true);
    const empty = await dir(`pglite-${dead}-bbbbbb`);
    // Its pid is unknown here (another PID namespace sharing /tmp), but its gateway answers: kept.
    const live = await listening(`pglite-${dead}-cccccc`);
    // A running process's (this one's parent: alive): kept whatever its socket does.
    const running = await dir(`pglite-${process.ppid}-dddddd`, 'stale');
    // Not ours by name: the old unnumbered form, the tests' template dumps, anything else.
    const others = await Promise.all(['pglite-eeeeee', 'pglite-template-ffffff', 'other'].map((n) => dir(n)));
    fs.writeFileSync(path.join(tmp, `pglite-${dead}-file`), '');

    expect(await sweepSocketDirs(tmp)).toBe(2);
    expect([stale, empty].map((d) => fs.existsSync(d))).toEqual([false, false]);
    expect([live, running, ...others].map((d) => fs.existsSync(d))).toEqual([true, true, true, true, true]);
    expect(fs.existsSync(path.join(tmp, `pglite-${dead}-file`))).toBe(true);
    expect(await sweepSocketDirs(tmp)).toBe(0);
  });

  it("makes this process's directory, named by its pid, after the sweep", async () => {
    await dir(`pglite-${deadPid()}-aaaaaa`, 'stale');
    const made = await makeSocketDir(tmp);
    expect(made.swept).toBe(1);
    expect(path.basename(made.dir)).toMatch(new RegExp(`^pglite-${process.pid}-`));
    // A later start (this process's own directory is never swept).
    expect((await makeSocketDir(tmp)).swept).toBe(0);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith(`pglite-${process.pid}-`))).toHaveLength(2);
  });

  it('a missing temporary directory sweeps nothing', async () => {
    expect(await sweepSocketDirs(path.join(tmp, 'missing'))).toBe(0);
  });
});
