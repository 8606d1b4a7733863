import { connect, createServer } from 'node:net';

// Test files run in parallel worker processes, each starting servers and services on ports it picks.
// Asking the kernel for port 0 and closing it again lets two processes pick the same port before either
// binds it (CI saw a reader's ops port answered by another file's RabbitMQ). So every worker takes ports
// from its own slice below 30000 (above lie the ports the `plantmesh up` test picks and the ephemeral
// range, 32768+, of outgoing connections), hands each out once, and checks that nothing listens on it.
const FIRST_PORT = 10_000;
const SLICE = 2_500;
const SLICES = 8;
const slot = Number(process.env.VITEST_POOL_ID ?? 0) % SLICES;
let next = Math.floor(Math.random() * SLICE);
// fetch() refuses to connect to the "bad ports" of the Fetch standard; 10080 is the one in our range.
const fetchRefuses = new Set([10_080]);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on now and that no other test worker will be given. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = FIRST_PORT + slot * SLICE + (next++ % SLICE);
    if (!fetchRefuses.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port left in ${FIRST_PORT + slot * SLICE}..${FIRST_PORT + (slot + 1) * SLICE - 1}`);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `probe` until it resolves true; throws after `timeoutMs` with `what` in the message. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
