import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that slows the server → client direction (and client → server too with
 * `both`) to about `bytesPerSecond` each (null: full speed), so a test can stop a transfer part
 * way without racing it. The rate can be changed while connections are open.
 */
export interface ThrottleProxy {
  port: number;
  url: string;
  setRate(bytesPerSecond: number | null): void;
  close(): Promise<void>;
}

export async function startThrottleProxy(targetPort: number, bytesPerSecond: number | null, options: { both?: boolean } = {}): Promise<ThrottleProxy> {
  let rate = bytesPerSecond;
  const both = options.both === true;
  const forward = (from: Socket, to: Socket, throttled: boolean) => {
    from.on('data', (chunk: Buffer) => {
      const flushed = to.write(chunk);
      if (rate === null || !throttled) {
        if (!flushed) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        return;
      }
      // Hold the stream for as long as this chunk takes at the set rate.
      from.pause();
      setTimeout(() => from.resume(), (chunk.length / rate) * 1000);
    });
  };
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
    forward(upstream, client, true);
    forward(client, upstream, both);
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
