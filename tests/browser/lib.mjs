// Shared by the headless-Chromium tests (scripts/browser-test.sh runs every *.test.mjs here).
// startCsrd() runs the csrd binary (CSRD_BIN) against DATABASE_URL on a free loopback port;
// serveStatic() serves a directory from another port (another origin); launch() starts
// Debian's Chromium through playwright-core with the flags this closed network needs.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// env: extra environment for csrd (e.g. { CSRD_CORS_ORIGINS: 'http://127.0.0.1:1234' }).
// Returns { base, token, stop() }; token is an admin token made for this instance.
export async function startCsrd(env = {}) {
  const port = await freePort();
  const token = 'browser-admin-' + randomBytes(12).toString('hex');
  const child = spawn(process.env.CSRD_BIN, [], {
    env: { ...process.env, CSRD_LISTEN: `127.0.0.1:${port}`, CSRD_ADMIN_TOKEN: token,
           CSRD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`csrd exited with ${child.exitCode}`);
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base, token,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.on('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
                '.json': 'application/json', '.svg': 'image/svg+xml' };

// Serves dir on a free loopback port; returns { origin, close() }.
export async function serveStatic(dir) {
  const port = await freePort();
  const root = path.resolve(dir);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = path.resolve(root, '.' + (url.pathname.endsWith('/') ? url.pathname + 'index.html' : url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
      res.end(body);
    } catch { res.writeHead(404).end('not found'); }
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Where screenshots go (ARTIFACTS, else the system's temp directory).
export function artifact(name) {
  return path.join(process.env.ARTIFACTS || '/tmp', name);
}
