/**
 * The usage guide's httpbin stand-ins of the policy API simulator: POST /post and GET /get echo the
 * request back (args, data, headers, json, origin, url) the way httpbin.org does.
 */
import type * as http from 'node:http';
import { headerValue, parseJson, type Reply } from './io';
import type { JsonValue } from './types';

function queryArgs(query: string): Record<string, JsonValue> {
  const args: Record<string, JsonValue> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    const prev = args[k];
    if (prev === undefined) args[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else args[k] = [prev, v];
  }
  return args;
}

function titleCase(name: string): string {
  return name
    .split('-')
    .map((p) => (p.length > 0 ? p[0]!.toUpperCase() + p.slice(1) : p))
    .join('-');
}

function echoHeaders(req: http.IncomingMessage): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const v = headerValue(value);
    if (v !== null) out[titleCase(name)] = v;
  }
  return out;
}

function clientAddress(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '127.0.0.1';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** `listenHost`: the simulator's `host:port`, for the url when the request has no Host header. */
function requestUrl(req: http.IncomingMessage, listenHost: string): string {
  return `http://${req.headers.host ?? listenHost}${req.url ?? '/'}`;
}

export function httpbinPost(
  req: http.IncomingMessage,
  raw: string,
  query: string,
  listenHost: string,
): Reply {
  const parsed = raw.length > 0 ? parseJson(raw) : { ok: false as const };
  return {
    status: 200,
    body: {
      args: queryArgs(query),
      data: raw,
      files: {},
      form: {},
      headers: echoHeaders(req),
      json: parsed.ok ? parsed.value : null,
      origin: clientAddress(req),
      url: requestUrl(req, listenHost),
    },
  };
}

export function httpbinGet(req: http.IncomingMessage, query: string, listenHost: string): Reply {
  return {
    status: 200,
    body: {
      args: queryArgs(query),
      headers: echoHeaders(req),
      origin: clientAddress(req),
      url: requestUrl(req, listenHost),
    },
  };
}
