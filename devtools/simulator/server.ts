/**
 * The policy API simulator: a stand-alone fake of the external policy API (and the usage guide's
 * httpbin stand-ins) on `node:http`, with scripted statuses, latency, faults and a request log.
 *
 * This module is the server: the http wiring (splitting the URL, reading the body, sending API
 * requests to api-routes.ts and /_sim/ requests to admin-routes.ts), socket and timer bookkeeping,
 * and `startSimulator`, which returns the `Simulator` handle. State lives in state.ts, faults in
 * faults.ts, HTTP plumbing in io.ts. Importers use this module: it re-exports the types.
 *
 * API endpoints: POST /createpolicy, GET /policy/{policy_id}, POST /circuit, POST /post, GET /get,
 * GET /health. Admin endpoints under /_sim/ (listed in admin-routes.ts).
 *
 * The simulator imports nothing from `src/`.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { handleAdmin, isAdminPath } from './admin-routes';
import { handleApi, type ApiContext } from './api-routes';
import { FaultState } from './faults';
import { readBody, send, type BodyResult } from './io';
import { SimState } from './state';
import { parseScript, type RequestLogEntry, type Simulator } from './types';

export * from './types';

export interface SimulatorOptions {
  /** 0 = ephemeral (default 0). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Latency for every request unless a script says otherwise. Default 0. */
  defaultLatencyMs?: number;
  /** Suppress warnings about server-side errors. */
  quiet?: boolean;
  /** Called with one line per finished API request (main.ts wires this to SIMULATOR_LOG=1). */
  log?: (line: string) => void;
  /**
   * Called synchronously as each API request arrives (headers and body read, before latency, faults
   * or processing), with its log entry. The chaos suite uses it to kill a worker mid-request.
   */
  onRequest?: (entry: Readonly<RequestLogEntry>) => void;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const quiet = opts.quiet ?? false;
  const state = new SimState(opts.defaultLatencyMs ?? 0);
  const faults = new FaultState();

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;
  let closePromise: Promise<void> | null = null;

  function sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const qi = rawUrl.indexOf('?');
    const path = qi >= 0 ? rawUrl.slice(0, qi) : rawUrl;
    const query = qi >= 0 ? rawUrl.slice(qi + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    let bodyResult: BodyResult;
    try {
      bodyResult = await readBody(req);
    } catch {
      return; // client went away mid-body
    }
    if (isAdminPath(path)) {
      const reply = handleAdmin(api, state, method, path, query, bodyResult);
      send(res, null, bodyResult.tooLarge ? { ...reply, headers: { connection: 'close' } } : reply, opts.log);
      return;
    }
    await handleApi(apiContext, req, res, method, path, query, bodyResult);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!quiet) console.error('policy API simulator: request failed:', err);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'simulator internal error' }));
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port ?? 0, host);
  });
  server.on('error', (err) => {
    if (!quiet) console.error('policy API simulator: server error:', err);
  });

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (opts.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const apiContext: ApiContext = {
    state,
    faults,
    listenHost: `${host}:${port}`,
    log: opts.log,
    onRequest: opts.onRequest,
    sleep,
    closing: () => closing,
  };

  const api: Simulator = {
    url: `http://${urlHost}:${port}`,
    port,
    scriptPolicy(id, script) {
      state.scriptPolicy(id, parseScript(script));
    },
    setDefaultScript(s) {
      state.defaultScript = parseScript(s);
    },
    setGlobalFaults(f) {
      faults.setGlobalFaults(f);
    },
    setDown(isDown, mode = 'reset') {
      faults.setDown(isDown, mode);
    },
    setChaos(c) {
      faults.setChaos(c);
    },
    requests(filter) {
      return state.requests(filter);
    },
    stats() {
      return state.stats();
    },
    reset() {
      state.reset();
      faults.reset();
    },
    close() {
      if (closing) return closePromise ?? Promise.resolve();
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      closePromise = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closePromise;
    },
  };
  return api;
}
