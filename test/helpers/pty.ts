import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `argv` on a real terminal (script(1) gives it a pty) and types `answer` + Enter once the
 * output shows `question`. Resolves with the exit status and everything the terminal showed.
 */
export async function answerOnTerminal(argv: string[], env: Record<string, string | undefined>, question: string, answer: string): Promise<{ code: number | null; out: string }> {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const child = spawn('script', ['-qec', argv.map(quote).join(' '), '/dev/null'], { cwd: repo, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let answered = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (!answered && out.includes(question)) {
      answered = true;
      child.stdin.write(`${answer}\r`);
    }
  });
  return { code: await exited, out };
}
