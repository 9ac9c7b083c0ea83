/**
 * src/startup-error.ts on a port in use: the line names the listener whose port was taken, PORT's
 * or METRICS_PORT's. The errors are Node's own, from listening on a port a server here holds.
 * (test/e2e/operators.test.ts starts a gateway on a taken PORT.)
 */
import net from 'node:net';
import { loadConfig } from '../../src/config';
import { describeStartupError } from '../../src/startup-error';

async function listenError(port: number): Promise<Error> {
  const s = net.createServer();
  return new Promise((resolve, reject) => {
    s.once('error', resolve);
    s.listen(port, '127.0.0.1', () => s.close(() => reject(new Error(`port ${port} was free`))));
  });
}

describe('a port in use at startup', () => {
  const held: net.Server[] = [];
  const hold = async () => {
    const s = net.createServer();
    held.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as net.AddressInfo).port;
  };
  afterAll(async () => {
    for (const s of held) await new Promise((r) => s.close(r));
  });

  it('names PORT when the API port is taken', async () => {
    const [port, metrics] = [await hold(), await hold()];
    const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(metrics) });
    expect(describeStartupError(await listenError(port), config)).toBe(
      `port ${port} (HOST 127.0.0.1) is already in use by another process. Stop that process, or start with another PORT (PORT=0 picks a free one).`,
    );
  });

  it('names METRICS_PORT when the metrics port is taken', async () => {
    const [port, metrics] = [await hold(), await hold()];
    const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', METRICS_PORT: String(metrics) });
    expect(describeStartupError(await listenError(metrics), config)).toBe(
      `METRICS_PORT ${metrics} (host 127.0.0.1) is already in use by another process. Stop that process, or set METRICS_PORT to another port.`,
    );
  });
});
