/**
 * The admin socket: how the command-line tools reach a running gateway that owns an embedded
 * database (DATA_DIR). An embedded database has one owner process, so instead of opening it a
 * tool sends its command to the owner, which runs it on its own connection and relays the output.
 *
 * A Unix socket `DATA_DIR/admin.sock`, mode 0600 (only the user who runs the gateway, who can also
 * read DATA_DIR itself). One command per connection, newline-delimited JSON:
 *   tool → gateway: {"v":1,"command":"keys","argv":[…],"cwd":"/…","tty":{…},"env":{…}}, then {"t":"int"} on Ctrl-C
 *   gateway → tool: {"t":"out"|"err","d":"text"}…, then {"t":"exit","code":0}
 * Only node built-ins here: the tools load this module without the database stack.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ADMIN_SOCKET_NAME = 'admin.sock';
export const PROTOCOL_VERSION = 1;

export interface AdminRequest {
  v: number;
  command: string;
  argv: string[];
  cwd: string;
  tty: { stdout: boolean; stderr: boolean; columns?: number };
  env: Record<string, string | undefined>;
}

export type ToolFrame = { t: 'int' };
export type GatewayFrame = { t: 'out' | 'err'; d: string } | { t: 'exit'; code: number };

export function adminSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), ADMIN_SOCKET_NAME);
}

/** The pid of the live process that owns DATA_DIR (its gateway.pid), or null. */
export function dataDirOwner(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(path.resolve(dataDir), 'gateway.pid'), 'utf8'));
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/**
 * Unix socket paths are limited to ~107 bytes. A longer one is reached through a relative path
 * from its directory: bind() and connect() happen synchronously inside listen()/connect(), so
 * the working directory is changed only around that call.
 */
const MAX_SOCKET_PATH = 100;
function viaDir<T>(file: string, fn: (p: string) => T): T {
  if (file.length <= MAX_SOCKET_PATH) return fn(file);
  const cwd = process.cwd();
  process.chdir(path.dirname(file));
  try {
    return fn(`./${path.basename(file)}`);
  } finally {
    process.chdir(cwd);
  }
}

/** Listens on the socket file with mode 0600 (set by the umask at bind time, so never wider). */
export function listenPrivate(server: net.Server, file: string): Promise<void> {
  fs.rmSync(file, { force: true }); // left by a gateway that died: the caller holds the DATA_DIR lock
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const umask = process.umask(0o177);
    try {
      viaDir(file, (p) => server.listen(p, () => resolve()));
    } finally {
      process.umask(umask);
    }
  }).then(() => fs.chmodSync(file, 0o600));
}

export function connectSocket(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = viaDir(file, (p) => net.connect(p));
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Splits a stream of newline-delimited JSON into objects. */
export function onFrames<T>(socket: net.Socket, handler: (frame: T) => void): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line) continue;
      let frame: T;
      try {
        frame = JSON.parse(line) as T;
      } catch {
        socket.destroy(new Error('bad frame on the admin socket'));
        return;
      }
      handler(frame);
    }
    if (buf.length > 16 * 1024 * 1024) socket.destroy(new Error('frame too large on the admin socket'));
  });
}
