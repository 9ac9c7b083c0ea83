/**
 * The gateway's side of the admin socket (see src/admin/protocol.ts): runs the command-line tools' commands
 * on the gateway's own database connection, so that they work while it owns the embedded database.
 */
import fs from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { App } from '../app';
import { COMMANDS } from '../commands';
import type { CliIO, OutStream } from '../commands/io';
import {
  PROTOCOL_VERSION,
  adminSocketPath,
  listenPrivate,
  onFrames,
  type AdminRequest,
  type GatewayFrame,
  type ToolFrame,
} from './protocol';

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

/** Output relayed to the tool as frames, with the socket's backpressure. Writes after the tool left fail. */
class FrameStream extends Writable implements OutStream {
  private decoder = new StringDecoder('utf8');
  constructor(
    private readonly socket: net.Socket,
    private readonly t: 'out' | 'err',
    public isTTY: boolean,
    public columns: number | undefined,
  ) {
    super();
    this.on('error', () => undefined); // a tool that left is not the gateway's problem
  }
  private send(d: string, cb: (e?: Error | null) => void) {
    if (this.socket.destroyed || !this.socket.writable) return cb(new Error('the tool disconnected'));
    if (!d) return cb();
    if (this.socket.write(JSON.stringify({ t: this.t, d } satisfies GatewayFrame) + '\n')) cb();
    else this.socket.once('drain', () => cb());
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void) {
    this.send(this.decoder.write(chunk), cb);
  }
  override _final(cb: (e?: Error | null) => void) {
    this.send(this.decoder.end(), cb);
  }
}

export async function startAdminSocket(app: App): Promise<AdminSocket> {
  const file = adminSocketPath(app.config.dataDir);
  const running = new Set<{ socket: net.Socket; done: Promise<void>; interrupt(): void }>();
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let started = false;
    onFrames<AdminRequest | ToolFrame>(socket, (frame) => {
      if (!started) {
        started = true;
        serve(socket, frame as AdminRequest);
      } else if ((frame as ToolFrame).t === 'int') for (const r of running) if (r.socket === socket) r.interrupt();
    });
  });

  function serve(socket: net.Socket, req: AdminRequest) {
    const stdout = new FrameStream(socket, 'out', !!req.tty?.stdout, undefined);
    const stderr = new FrameStream(socket, 'err', !!req.tty?.stderr, req.tty?.columns);
    const handlers = new Set<() => void>();
    const interrupt = () => {
      for (const h of [...handlers]) h();
    };
    const io: CliIO = {
      stdout,
      stderr,
      cwd: typeof req.cwd === 'string' ? req.cwd : '/',
      env: req.env && typeof req.env === 'object' ? req.env : {},
      inGateway: true,
      onInterrupt(h) {
        handlers.add(h);
        return () => handlers.delete(h);
      },
    };
    // A tool that goes away stops its command as Ctrl-C would.
    socket.on('close', interrupt);
    const entry = {
      socket,
      interrupt,
      done: (async () => {
        let code: number;
        try {
          if (req.v !== PROTOCOL_VERSION)
            throw new Error(
              `the gateway speaks admin protocol ${PROTOCOL_VERSION}, the tool ${req.v}: rebuild (npm run build) and restart the gateway`,
            );
          const command = Object.hasOwn(COMMANDS, req.command) ? COMMANDS[req.command]() : null;
          if (!command) throw new Error(`unknown command "${req.command}"`);
          app.log.info('admin command', { command: req.command });
          code = await command({ argv: Array.isArray(req.argv) ? req.argv.map(String) : [], io, app: async () => app, migrated: () => [] });
        } catch (e) {
          stderr.write(`${(e as Error)?.message ?? String(e)}\n`);
          code = 1;
        }
        await Promise.all([stdout, stderr].map((s) => new Promise<void>((r) => s.end(() => r()))));
        if (!socket.destroyed) socket.end(JSON.stringify({ t: 'exit', code } satisfies GatewayFrame) + '\n');
      })(),
    };
    running.add(entry);
    void entry.done.finally(() => running.delete(entry));
  }

  await listenPrivate(server, file);
  return {
    path: file,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const r of running) {
        r.interrupt();
        r.socket.destroy();
      }
      await Promise.all([...running].map((r) => r.done));
      await closed;
      fs.rmSync(file, { force: true });
    },
  };
}
