/**
 * The one place that reaches into ws's internals. ws has no public way to write a frame built
 * once for many sockets, nor to cork a socket around several sends. Shared subscriptions send the
 * same event to thousands of sockets, so they write pre-built text frames straight to the TCP
 * socket under ws (`ws._socket`): measured on loopback, 500 sockets × 600 messages took 1.0 s of
 * CPU this way against 2.4 s through `ws.send` (a header and a cork/uncork per message).
 *
 * The bytes are exactly what ws writes for a text message on a server socket (unmasked, no
 * extension): when an extension such as permessage-deflate was negotiated, or when ws no longer
 * exposes `_socket` as a net.Socket, messages go through `ws.send` instead (correct, slower).
 * test/unit/ws-frames.test.ts fails if a ws upgrade changes any of this.
 */
import net from 'node:net';
import type { WebSocket } from 'ws';

/** A text message, and the same as a complete WebSocket frame. */
export interface TextMessage {
  readonly text: string;
  readonly frame: Buffer;
}

/** A complete, unmasked, final WebSocket text frame carrying `text` (RFC 6455 §5.2). */
export function textMessage(text: string): TextMessage {
  const len = Buffer.byteLength(text);
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x81; // FIN, text
  if (head === 2) frame[1] = len;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  frame.write(text, head, 'utf8');
  return { text, frame };
}

/** Per ws socket: both are settled by the handshake, before any subscription (ws's `extensions` getter joins its keys on every call). */
const raws = new WeakMap<WebSocket, net.Socket | null>();

/** The TCP socket under a server-side ws socket, when frames may be written to it directly. */
export function rawSocketOf(ws: WebSocket): net.Socket | null {
  let raw = raws.get(ws);
  if (raw === undefined) {
    const under = (ws as unknown as { _socket?: unknown })._socket;
    // A negotiated extension changes the frames.
    raw = ws.extensions === '' && under instanceof net.Socket ? under : null;
    raws.set(ws, raw);
  }
  return raw;
}

/**
 * Sends `messages` in order, after anything sent before on `ws`; `onSent` runs once per message
 * when the socket took it (what ws.send's callback reports too).
 */
export function sendTextMessages(ws: WebSocket, messages: readonly TextMessage[], onSent: () => void): void {
  const raw = rawSocketOf(ws);
  if (!raw) {
    for (const m of messages) ws.send(m.text, onSent);
    return;
  }
  if (messages.length === 1) {
    raw.write(messages[0].frame, onSent);
    return;
  }
  raw.cork();
  for (const m of messages) raw.write(m.frame, onSent);
  raw.uncork();
}
