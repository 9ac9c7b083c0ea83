/**
 * src/graphql/ws-frames.ts writes pre-built frames under ws (`ws._socket`). These tests fail if a
 * ws upgrade changes what that relies on: the server-side socket exposes its net.Socket, frames
 * built here are what a ws client reads as text messages (every length encoding), in order with
 * ws.send's own messages, and a socket with permessage-deflate falls back to ws.send.
 */
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { rawSocketOf, sendTextMessages, textMessage } from '../../src/graphql/ws-frames';

async function pair(
  perMessageDeflate: boolean,
): Promise<{ server: WebSocket; client: WebSocket; received: string[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate });
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(isBinary ? '<binary>' : data.toString('utf8')));
  await new Promise((r) => client.once('open', r));
  const server = await accepted;
  return {
    server,
    client,
    received,
    async close() {
      client.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a server socket without extensions exposes its net.Socket', async () => {
  const p = await pair(false);
  try {
    expect(p.server.extensions).toBe('');
    expect(rawSocketOf(p.server)).not.toBeNull();
  } finally {
    await p.close();
  }
});

test('pre-built frames arrive as the same text messages, in order with ws.send, for every length encoding', async () => {
  const p = await pair(false);
  try {
    const texts = [
      '',
      'é€😀 short',
      'x'.repeat(125),
      'y'.repeat(126),
      'z'.repeat(65535),
      'w'.repeat(65536),
      `{"id":"1","type":"next","payload":${JSON.stringify({ a: 'ü'.repeat(70000) })}}`,
    ];
    let sent = 0;
    p.server.send('before');
    sendTextMessages(p.server, texts.slice(0, 1).map(textMessage), () => sent++);
    sendTextMessages(p.server, texts.slice(1).map(textMessage), () => sent++);
    p.server.send('after');
    await until(() => p.received.length === texts.length + 2);
    expect(p.received).toEqual(['before', ...texts, 'after']);
    await until(() => sent === texts.length);
  } finally {
    await p.close();
  }
});

test('with permessage-deflate negotiated, messages go through ws.send', async () => {
  const p = await pair(true);
  try {
    expect(p.server.extensions).not.toBe('');
    expect(rawSocketOf(p.server)).toBeNull();
    let sent = 0;
    sendTextMessages(p.server, ['one', 'two'].map(textMessage), () => sent++);
    await until(() => p.received.length === 2 && sent === 2);
    expect(p.received).toEqual(['one', 'two']);
  } finally {
    await p.close();
  }
});
