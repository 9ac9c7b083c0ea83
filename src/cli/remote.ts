/** The tool's side of the admin socket (src/admin/protocol.ts): sends the command, relays output. */
import type net from 'node:net';
import { PROTOCOL_VERSION, connectSocket, dataDirOwner, onFrames, type AdminRequest, type GatewayFrame } from '../admin/protocol';

export class GatewayGone extends Error {}

/**
 * Connects to the gateway owning DATA_DIR. While it is starting (the lock is taken, the socket is
 * not open yet) this waits; resolves null if the owner has gone meanwhile (open the database directly).
 */
async function connectToOwner(socketPath: string, dataDir: string, pid: number, waitMs: number): Promise<net.Socket | null> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return await connectSocket(socketPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw e;
    }
    if (dataDirOwner(dataDir) === null) return null;
    if (Date.now() > deadline) {
      throw new Error(
        `the gateway (pid ${pid}) owns DATA_DIR ${dataDir} but does not answer on ${socketPath}; wait until it is ready, or stop it`,
      );
    }
    if (!told && Date.now() > deadline - waitMs + 1500) {
      process.stderr.write(`Waiting for the gateway (pid ${pid}) to finish starting…\n`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the command in the gateway; resolves with its exit code, or null when no gateway owns DATA_DIR any more. */
export async function runInGateway(
  socketPath: string,
  dataDir: string,
  pid: number,
  command: string,
  argv: string[],
): Promise<number | null> {
  const socket = await connectToOwner(socketPath, dataDir, pid, 60_000);
  if (!socket) return null;
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('npm_')) env[k] = v;
  const req: AdminRequest = {
    v: PROTOCOL_VERSION,
    command,
    argv,
    cwd: process.cwd(),
    tty: { stdout: !!process.stdout.isTTY, stderr: !!process.stderr.isTTY, columns: process.stderr.columns },
    env,
  };
  socket.write(JSON.stringify(req) + '\n');
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    socket.write(JSON.stringify({ t: 'int' }) + '\n');
  };
  process.on('SIGINT', onSigint);
  // A closed pipe (`| head`) ends the command quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      socket.destroy();
      process.exit(0);
    }
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      let exit: number | null = null;
      onFrames<GatewayFrame>(socket, (f) => {
        if (f.t === 'exit') exit = f.code;
        else {
          const out = f.t === 'out' ? process.stdout : process.stderr;
          // Backpressure: a slow reader of stdout slows the gateway's export down, not its memory.
          if (!out.write(f.d)) {
            socket.pause();
            out.once('drain', () => socket.resume());
          }
        }
      });
      socket.on('error', (e) => reject(new GatewayGone(`lost the connection to the gateway (pid ${pid}): ${e.message}`)));
      socket.on('close', () =>
        exit === null
          ? reject(new GatewayGone(`the gateway (pid ${pid}) closed the connection before the command finished (was it stopped?)`))
          : resolve(exit),
      );
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
