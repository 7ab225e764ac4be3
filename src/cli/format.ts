import type { Entry } from '../protocol/index.js';
import { formatSize } from '../util/units.js';

export { formatSize };

/** "0:07", "3:25", "1:02:03"; "--:--" when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "12.3 MiB/s". */
export function formatSpeed(bytesPerSecond: number): string {
  return `${formatSize(Math.round(bytesPerSecond))}/s`;
}

/** "0.4 s", "12 s", "3 min 5 s". */
export function formatElapsed(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `ls -l` style mode: "drwxr-xr-x", "-rw-r--r--", "lrwxrwxrwx". */
export function formatMode(entry: Pick<Entry, 'type' | 'mode'>): string {
  const type = entry.type === 'dir' ? 'd' : entry.type === 'symlink' ? 'l' : entry.type === 'other' ? '?' : '-';
  let bits = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const part = (entry.mode >> shift) & 7;
    bits += `${part & 4 ? 'r' : '-'}${part & 2 ? 'w' : '-'}${part & 1 ? 'x' : '-'}`;
  }
  return type + bits;
}

/** "2024-06-01 14:03", local time, like `ls -l --time-style=+%F\ %R`. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Cuts `text` to `width` columns with an ellipsis in the middle, keeping both ends readable. */
export function fitWidth(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return chars.slice(0, width).join('');
  const keep = width - 1;
  const head = Math.ceil(keep / 2);
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (keep - head)).join('')}`;
}
