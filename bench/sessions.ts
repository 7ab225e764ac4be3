import { setTimeout as sleep } from 'node:timers/promises';
import { Session, type SessionOptions } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { median } from './report.js';
import type { ServerChild } from './server-child.js';

/** Logins at once: the server caps connections that are not logged in yet per address (32). */
const LOGIN_BATCH = 16;

/** Opens `count` logged-in sessions, a batch at a time. */
export async function openSessions(count: number, options: SessionOptions): Promise<Session[]> {
  const sessions: Session[] = [];
  try {
    while (sessions.length < count) {
      const batch = Math.min(LOGIN_BATCH, count - sessions.length);
      sessions.push(...(await Promise.all(Array.from({ length: batch }, () => Session.connect(options)))));
    }
  } catch (error) {
    await closeSessions(sessions);
    throw error;
  }
  return sessions;
}

export async function closeSessions(sessions: Session[]): Promise<void> {
  await Promise.all(sessions.map((session) => session.close().catch(() => undefined)));
}

/**
 * The server's resident memory with `count` idle logged-in sessions: the median of `samples`
 * readings a second apart, taken once every login is done and the server had a few seconds to
 * settle (the logins' scrypt work, 32 MiB each, is over by then). Also the peak during it all.
 */
export async function idleSessionsRss(
  server: ServerChild,
  count: number,
  options: SessionOptions,
  samples: number,
): Promise<{ rss: number; peakRss: number; baseRss: number; loginSeconds: number }> {
  const baseRss = await server.rss();
  await server.resetPeak();
  const started = process.hrtime.bigint();
  const sessions = await openSessions(count, options);
  const loginSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  try {
    await sleep(3000);
    const readings: number[] = [];
    for (let i = 0; i < samples; i++) {
      readings.push(await server.rss());
      await sleep(1000);
    }
    return { rss: median(readings), peakRss: await server.peakRss(), baseRss, loginSeconds };
  } finally {
    await closeSessions(sessions);
  }
}

/** `sessions` upload `localPath` at once, each to its own name; throws when any SHA-256 differs. */
export async function crowdUpload(sessions: Session[], localPath: string, sha256: string): Promise<void> {
  const results = await Promise.all(sessions.map((session, i) => uploadFile(session, localPath, `/crowd-${i}.bin`, { overwrite: true })));
  if (results.some((result) => result.sha256 !== sha256)) throw new Error('crowd upload: SHA-256 differs');
}
