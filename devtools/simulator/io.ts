/**
 * HTTP plumbing of the policy API simulator: reading a request body (with the size cap), writing a
 * JSON reply, cutting a socket, and the small JSON / header helpers every route uses.
 */
import type * as http from 'node:http';
import type { JsonValue, RequestLogEntry } from './types';

/** Request bodies above this get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A request body is drained up to this size (to answer 413 cleanly), then the socket is cut. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

export interface Reply {
  status: number;
  body: JsonValue;
  headers?: Record<string, string>;
}

export interface BodyResult {
  raw: Buffer;
  tooLarge: boolean;
}

/** One line per finished API request (`SimulatorOptions.log`). */
export type LineLog = ((line: string) => void) | undefined;

export function isRecord(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nonEmptyString(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

export function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

export function parseJson(text: string): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch {
    return { ok: false };
  }
}

export function decodeSegment(seg: string): string | null {
  try {
    return decodeURIComponent(seg);
  } catch {
    return null;
  }
}

export function readBody(req: http.IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.socket.destroy();
        return;
      }
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve({ raw: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('request aborted'));
    });
  });
}

/** Writes `text` as an application/json answer, unless the client is gone. */
export function writeJsonText(res: http.ServerResponse, status: number, text: string): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Sends a reply and records its status in the request's log entry (admin requests have none). */
export function send(
  res: http.ServerResponse,
  entry: RequestLogEntry | null,
  reply: Reply,
  log: LineLog,
): void {
  if (entry) entry.responseStatus = reply.status;
  if (res.destroyed || res.writableEnded) return;
  const text = reply.status === 204 ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...reply.headers,
  });
  res.end(text);
  if (entry && log) {
    log(`${entry.method} ${entry.path} -> ${reply.status}${entry.fault ? ` (${entry.fault})` : ''}`);
  }
}

/** Cuts the connection with a TCP reset (or a plain destroy where Node has no reset). */
export function resetSocket(req: http.IncomingMessage, entry: RequestLogEntry, log: LineLog): void {
  entry.responseStatus = null;
  log?.(`${entry.method} ${entry.path} -> reset${entry.fault === 'down' ? ' (down)' : ''}`);
  const socket = req.socket;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}
