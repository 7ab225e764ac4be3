#!/usr/bin/env node
import { runCli } from './program.js';

// `ferry ls … | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const status = await runCli(process.argv);
process.exitCode = status;
// Everything is closed by now; if a stray handle (a socket in its closing handshake) lingers,
// do not keep a script waiting for it.
setTimeout(() => process.exit(status), 3000).unref();
