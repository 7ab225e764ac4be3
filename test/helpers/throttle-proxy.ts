import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that slows the server → client direction to about `bytesPerSecond`
 * (null: full speed), so a test can stop a transfer part way without racing it. The rate can be
 * changed while connections are open.
 */
export interface ThrottleProxy {
  port: number;
  url: string;
  setRate(bytesPerSecond: number | null): void;
  close(): Promise<void>;
}

export async function startThrottleProxy(targetPort: number, bytesPerSecond: number | null): Promise<ThrottleProxy> {
  let rate = bytesPerSecond;
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const flushed = client.write(chunk);
      if (rate === null) {
        if (!flushed) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
        return;
      }
      // Hold the stream for as long as this chunk takes at the set rate.
      upstream.pause();
      setTimeout(() => upstream.resume(), (chunk.length / rate) * 1000);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    setRate(next) {
      rate = next;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
