import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 (port 0) in front of a target port that can cut its connections: all
 * at once on demand, or once a given number of further bytes went through. Cuts are abrupt
 * (TCP RST both ways), as when a cable is pulled or a NAT forgets the flow.
 */
export interface CutProxy {
  port: number;
  /** `ws://127.0.0.1:PORT` */
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly live: number;
  /** Connections cut by cutAll / cutAfterBytes so far. */
  readonly cuts: number;
  /** Bytes client → target and target → client so far. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Cuts every live connection; returns how many. */
  cutAll(): number;
  /** Arms a one-shot cut of every live connection after `n` more bytes in either direction. */
  cutAfterBytes(n: number): void;
  /** Live connections stay open but carry nothing more, either way (a silently dead path). */
  stallAll(): void;
  /**
   * Live connections still carry the client's bytes to the server but nothing back: requests
   * arrive and are carried out, their replies (and pongs) are lost.
   */
  stallReplies(): void;
  /** While refusing, new connections are reset at once (a server that is "down"). */
  setRefusing(refusing: boolean): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

export async function startCutProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<CutProxy> {
  const pairs = new Set<Pair>();
  const stalled = new WeakSet<Pair>();
  const deaf = new WeakSet<Pair>();
  let accepted = 0;
  let cuts = 0;
  let bytesUp = 0;
  let bytesDown = 0;
  let cutBudget: number | undefined;
  let refusing = false;

  const cut = (pair: Pair) => {
    if (!pairs.delete(pair)) return;
    cuts++;
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  };
  const cutAll = () => {
    const all = [...pairs];
    for (const pair of all) cut(pair);
    return all.length;
  };
  const count = (n: number) => {
    if (cutBudget === undefined) return;
    cutBudget -= n;
    if (cutBudget <= 0) {
      cutBudget = undefined;
      cutAll();
    }
  };

  const server = createServer({ noDelay: true }, (client) => {
    client.on('error', () => {});
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = connect({ port: targetPort, host: targetHost, noDelay: true });
    upstream.on('error', () => {});
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket, up: boolean) => {
      from.on('data', (chunk: Buffer) => {
        if (!pairs.has(pair) || stalled.has(pair) || (!up && deaf.has(pair))) return;
        if (up) bytesUp += chunk.length;
        else bytesDown += chunk.length;
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        count(chunk.length);
      });
      from.on('end', () => to.end());
      from.on('close', () => {
        if (pairs.delete(pair)) to.destroy();
      });
    };
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const port = address.port;

  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get live() {
      return pairs.size;
    },
    get cuts() {
      return cuts;
    },
    get bytesUp() {
      return bytesUp;
    },
    get bytesDown() {
      return bytesDown;
    },
    cutAll,
    cutAfterBytes(n: number) {
      cutBudget = n;
    },
    stallAll() {
      for (const pair of pairs) stalled.add(pair);
    },
    stallReplies() {
      for (const pair of pairs) deaf.add(pair);
    },
    setRefusing(value: boolean) {
      refusing = value;
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
