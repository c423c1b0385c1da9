import { MockAgent } from 'undici';
import type { MockInterceptor } from 'undici/types/mock-interceptor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicyApiClient, type PolicyApiConfig } from '../../src/policy-api/client';
import { classifyHttpStatus, parseRetryAfter } from '../../src/policy-api/errors';
import { PolicyApiError, type PolicyApi } from '../../src/policy-api/types';
import { API_ACTIVITY_START_TO_CLOSE_MS, MAX_API_TIMEOUT_MS } from '../../src/policy/activity-timeouts';
import type { PolicyData } from '../../src/policy/input';

const ORIGIN = 'http://policy.test';
const TOKEN = 'sekr3t-T0ken-value';

const policy: PolicyData = {
  policy_name: 'sample_policy',
  policy_type: 'data_governance',
  description: 'Sample policy for data governance with circuit breaker',
  priority: 'high',
  created_by: 'dbt_user',
  expected_policy_id: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
  parameters: {
    retention_days: 90,
    classification: 'sensitive',
    compliance_level: 'strict',
    circuit_breaker_enabled: true,
  },
};

const cbRequest = {
  policy_id: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
  execution_id: 'exec_20240101_120000',
  trigger_reason: 'policy_execution_completed',
  timestamp: '2024-01-01T12:00:00',
};

type Captured = { path: string; method: string; headers: Record<string, string>; body: string | undefined };

type MockOpts = MockInterceptor.MockResponseCallbackOptions;

function headersOf(opts: MockOpts): Record<string, string> {
  const out: Record<string, string> = {};
  const h = opts.headers as Record<string, string | string[] | undefined> | undefined;
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

let mockAgent: MockAgent;
let clients: PolicyApi[];

beforeEach(() => {
  mockAgent = new MockAgent();
  mockAgent.disableNetConnect();
  clients = [];
});

afterEach(async () => {
  for (const c of clients) await c.close();
  await mockAgent.close();
});

function client(extra: Partial<PolicyApiConfig> = {}): PolicyApi {
  const c = createPolicyApiClient({ baseUrl: ORIGIN, dispatcher: mockAgent, ...extra });
  clients.push(c);
  return c;
}

/** Intercepts one request, records it, and replies with `status` and `body`. */
function intercept(
  method: string,
  path: string | ((p: string) => boolean),
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): { captured: Captured[] } {
  const captured: Captured[] = [];
  mockAgent
    .get(ORIGIN)
    .intercept({ method, path })
    .reply((opts) => {
      captured.push({
        path: opts.path,
        method: opts.method,
        headers: headersOf(opts),
        body: typeof opts.body === 'string' ? opts.body : undefined,
      });
      return {
        statusCode: status,
        data: typeof body === 'string' ? body : JSON.stringify(body),
        responseOptions: { headers },
      };
    });
  return { captured };
}

async function catchError(p: Promise<unknown>): Promise<PolicyApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyApiError);
    return err as PolicyApiError;
  }
  throw new Error('expected the call to fail');
}

describe('policy profile: happy paths', () => {
  it('creates a policy with the guide body plus execution_id and the POST headers', async () => {
    const { captured } = intercept('POST', '/createpolicy', 200, {
      policy_id: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
      execution_id: 'exec_20240101_120000',
      status: 'created',
      message: 'Policy created successfully',
    });
    const res = await client().createPolicy(policy, {
      idempotencyKey: 'exec-1:create',
      executionId: 'exec-1',
    });
    expect(res).toEqual({
      policyId: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
      executionId: 'exec_20240101_120000',
      status: 'created',
      message: 'Policy created successfully',
      raw: {
        policy_id: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
        execution_id: 'exec_20240101_120000',
        status: 'created',
        message: 'Policy created successfully',
      },
    });
    const req = captured[0]!;
    expect(req.method).toBe('POST');
    expect(JSON.parse(req.body!)).toEqual({ ...policy, execution_id: 'exec-1' });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('exec-1:create');
    expect(req.headers).not.toHaveProperty('authorization');
  });

  it('maps optional fields of the wrong type to null', async () => {
    intercept('POST', '/createpolicy', 201, {
      policy_id: 'p1',
      execution_id: 7,
      status: null,
      message: ['x'],
    });
    const res = await client().createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' });
    expect(res).toMatchObject({ policyId: 'p1', executionId: null, status: null, message: null });
  });

  it('polls status with GET and only Accept', async () => {
    const { captured } = intercept('GET', '/policy/p-1', 200, {
      policy_id: 'p-1',
      status: 'success',
      message: 'Policy is ready for circuit breaker',
    });
    const res = await client().getPolicyStatus('p-1');
    expect(res).toEqual({
      policyId: 'p-1',
      status: 'success',
      message: 'Policy is ready for circuit breaker',
      raw: { policy_id: 'p-1', status: 'success', message: 'Policy is ready for circuit breaker' },
    });
    const req = captured[0]!;
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers).not.toHaveProperty('content-type');
    expect(req.headers).not.toHaveProperty('idempotency-key');
    expect(req.headers).not.toHaveProperty('authorization');
  });

  it('triggers the circuit breaker with the request as given', async () => {
    const { captured } = intercept('POST', '/circuit', 200, {
      circuit_breaker_id: 'cb_20240101_120000',
      status: 'initiated',
      message: 'Circuit breaker initiated successfully',
    });
    const res = await client().triggerCircuitBreaker(cbRequest, { idempotencyKey: 'exec-1:circuit' });
    expect(res).toMatchObject({
      circuitBreakerId: 'cb_20240101_120000',
      status: 'initiated',
      message: 'Circuit breaker initiated successfully',
    });
    const req = captured[0]!;
    expect(JSON.parse(req.body!)).toEqual(cbRequest);
    expect(req.headers['idempotency-key']).toBe('exec-1:circuit');
    expect(req.headers['content-type']).toBe('application/json');
  });

  it('circuit breaker fields are all optional', async () => {
    intercept('POST', '/circuit', 200, {});
    const res = await client().triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k' });
    expect(res).toEqual({ circuitBreakerId: null, status: null, message: null, raw: {} });
  });

  it('keeps a path prefix of the base URL', async () => {
    intercept('POST', '/api/v1/createpolicy', 200, { policy_id: 'p' });
    intercept('GET', '/api/v1/policy/p', 200, { status: 'pending' });
    intercept('POST', '/api/v1/circuit', 200, {});
    const c = client({ baseUrl: `${ORIGIN}/api/v1/` });
    await c.createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' });
    await expect(c.getPolicyStatus('p')).resolves.toMatchObject({ status: 'pending', policyId: null });
    await c.triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k2' });
    mockAgent.assertNoPendingInterceptors();
  });

  it('sends Authorization only when a token is configured', async () => {
    const a = intercept('POST', '/createpolicy', 200, { policy_id: 'p' });
    const b = intercept('GET', '/policy/p', 200, { status: 'ready' });
    const c = intercept('POST', '/circuit', 200, {});
    const api = client({ token: TOKEN, userAgent: 'test-agent/1' });
    await api.createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' });
    await api.getPolicyStatus('p');
    await api.triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k2' });
    for (const { captured } of [a, b, c]) {
      expect(captured[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(captured[0]!.headers['user-agent']).toBe('test-agent/1');
    }
  });
});

describe('policy id path encoding', () => {
  it('sends a hostile id as one encoded path segment', async () => {
    const id = 'a/../b?c#d %2F\n';
    let seen = '';
    intercept(
      'GET',
      (p) => {
        seen = p;
        return true;
      },
      200,
      { policy_id: id, status: 'pending' },
    );
    const res = await client().getPolicyStatus(id);
    expect(seen).toBe('/policy/a%2F..%2Fb%3Fc%23d%20%252F%0A');
    expect(res.policyId).toBe(id);
  });

  it('refuses ids that URL parsing would turn into dot segments', async () => {
    for (const id of ['', '.', '..']) {
      const err = await catchError(client().getPolicyStatus(id));
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/^poll policy status: policy id .* cannot be used as a URL path segment$/);
    }
  });
});

describe('httpbin profile', () => {
  it('create / status / circuit map the echo', async () => {
    const pool = mockAgent.get(ORIGIN);
    const echo = (opts: MockOpts) => ({
      statusCode: 200,
      data: JSON.stringify({
        args: {},
        headers: headersOf(opts),
        json: typeof opts.body === 'string' ? (JSON.parse(opts.body) as unknown) : null,
        url: `${ORIGIN}${opts.path}`,
      }),
    });
    pool.intercept({ method: 'POST', path: '/post' }).reply(echo).times(3);
    pool
      .intercept({ method: 'GET', path: '/get?policy_id=d74d726c-9ca0-4c96-b9e3-755396547dce' })
      .reply((opts) => ({
        statusCode: 200,
        data: JSON.stringify({ args: { policy_id: 'd74d726c-9ca0-4c96-b9e3-755396547dce' }, url: opts.path }),
      }));
    pool.intercept({ method: 'GET', path: '/get?policy_id=x%20y%26status%3Dfailed' }).reply(200, {
      args: { policy_id: 'x y&status=failed' },
    });
    pool.intercept({ method: 'GET', path: '/get?policy_id=q' }).reply(200, { args: { status: 'pending' } });

    const api = client({ profile: 'httpbin' });
    const created = await api.createPolicy(policy, {
      idempotencyKey: 'exec-9:create',
      executionId: 'exec-9',
    });
    expect(created).toMatchObject({
      policyId: 'd74d726c-9ca0-4c96-b9e3-755396547dce',
      executionId: 'exec-9',
      status: 'created',
    });
    expect(created.raw).toMatchObject({ json: { ...policy, execution_id: 'exec-9' } });

    const { expected_policy_id: _omit, ...withoutExpected } = policy;
    const derived = await api.createPolicy(withoutExpected, {
      idempotencyKey: 'exec-9:create',
      executionId: 'exec-9',
    });
    expect(derived.policyId).toBe('httpbin-exec-9:create');

    const status = await api.getPolicyStatus('d74d726c-9ca0-4c96-b9e3-755396547dce');
    expect(status).toMatchObject({ policyId: 'd74d726c-9ca0-4c96-b9e3-755396547dce', status: 'success' });
    await expect(api.getPolicyStatus('x y&status=failed')).resolves.toMatchObject({
      policyId: 'x y&status=failed',
      status: 'success',
    });
    await expect(api.getPolicyStatus('q')).resolves.toMatchObject({ status: 'pending', policyId: null });

    const cb = await api.triggerCircuitBreaker(cbRequest, { idempotencyKey: 'exec-9:circuit' });
    expect(cb).toMatchObject({
      circuitBreakerId: 'cb_exec_20240101_120000',
      status: 'initiated',
      message: 'Circuit breaker initiated successfully',
    });
    mockAgent.assertNoPendingInterceptors();
  });

  it('an echo without `json` is an invalid response', async () => {
    intercept('POST', '/post', 200, { args: {} });
    const err = await catchError(
      client({ profile: 'httpbin' }).createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' }),
    );
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false });
    expect(err.message).toBe("create policy: response lacks required field 'json'");
  });

  it('redacts the token from an echoed Authorization header in raw', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/get?policy_id=p' })
      .reply((opts) => ({ statusCode: 200, data: JSON.stringify({ args: {}, headers: headersOf(opts) }) }));
    const res = await client({ profile: 'httpbin', token: TOKEN }).getPolicyStatus('p');
    expect(JSON.stringify(res.raw)).not.toContain(TOKEN);
    expect(res.raw).toMatchObject({ headers: { authorization: 'Bearer [REDACTED]' } });
  });
});

describe('classification', () => {
  it('classifyHttpStatus', () => {
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(classifyHttpStatus(s).retryable).toBe(true);
    for (const s of [300, 400, 401, 403, 404, 409, 422, 499])
      expect(classifyHttpStatus(s).retryable).toBe(false);
  });

  it('parseRetryAfter', () => {
    const now = Date.parse('2024-01-01T12:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  const retryAt = new Date(Date.now() + 60_000).toUTCString();
  const table: Array<{
    status: number;
    retryable: boolean;
    headers?: Record<string, string>;
    retryAfter?: (ms: number | undefined) => boolean;
  }> = [
    { status: 500, retryable: true },
    { status: 502, retryable: true },
    { status: 503, retryable: true, headers: { 'retry-after': '7' }, retryAfter: (ms) => ms === 7000 },
    {
      status: 429,
      retryable: true,
      headers: { 'retry-after': retryAt },
      retryAfter: (ms) => ms !== undefined && ms > 55_000 && ms <= 60_000,
    },
    { status: 408, retryable: true },
    { status: 400, retryable: false },
    { status: 401, retryable: false },
    { status: 404, retryable: false },
    { status: 422, retryable: false },
  ];
  for (const row of table) {
    it(`HTTP ${row.status} → retryable ${row.retryable}`, async () => {
      intercept('POST', '/createpolicy', row.status, { error: 'down' }, row.headers);
      const err = await catchError(client().createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' }));
      expect(err.kind).toBe('http');
      expect(err.step).toBe('create_policy');
      expect(err.retryable).toBe(row.retryable);
      expect(err.httpStatus).toBe(row.status);
      expect(err.bodyExcerpt).toBe('{"error":"down"}');
      expect(err.message).toMatch(
        new RegExp(`^create policy: HTTP ${row.status} [A-Za-z -]+: \\{"error":"down"\\}$`),
      );
      if (row.retryAfter) expect(row.retryAfter(err.retryAfterMs)).toBe(true);
      else expect(err.retryAfterMs).toBeUndefined();
    });
  }

  it('formats the guide example message', async () => {
    intercept('POST', '/createpolicy', 503, { error: 'down' });
    const err = await catchError(client().createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' }));
    expect(err.message).toBe('create policy: HTTP 503 Service Unavailable: {"error":"down"}');
  });

  it('an error body is excerpted to one line of at most 200 chars', async () => {
    intercept('GET', '/policy/p', 500, `line1\nline2\r\n\u0000${'x'.repeat(500)}`);
    const err = await catchError(client().getPolicyStatus('p'));
    expect(err.bodyExcerpt!.length).toBeLessThanOrEqual(200);
    expect(err.bodyExcerpt).toMatch(/^line1 line2 {3}x+…$/);
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\n\r\u0000]/);
    expect(err.message.startsWith('poll policy status: HTTP 500 Internal Server Error: line1 line2')).toBe(
      true,
    );
  });

  it('an empty error body gives just the status line', async () => {
    intercept('POST', '/circuit', 404, '');
    const err = await catchError(client().triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k' }));
    expect(err.message).toBe('trigger circuit breaker: HTTP 404 Not Found');
    expect(err.bodyExcerpt).toBeUndefined();
  });

  it('a network error is retryable', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/createpolicy' })
      .replyWithError(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8787'), { code: 'ECONNREFUSED' }),
      );
    const err = await catchError(client().createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' }));
    expect(err).toMatchObject({ kind: 'network', retryable: true, step: 'create_policy' });
    expect(err.message).toBe('create policy: network error: connect ECONNREFUSED 127.0.0.1:8787');
    expect(err.httpStatus).toBeUndefined();
  });

  it('a socket error is retryable', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/policy/p' })
      .replyWithError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    const err = await catchError(client().getPolicyStatus('p'));
    expect(err).toMatchObject({ kind: 'network', retryable: true });
    expect(err.message).toBe('poll policy status: network error: other side closed (UND_ERR_SOCKET)');
  });

  it('a server that does not answer in time is a retryable timeout, after about timeoutMs', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ method: 'GET', path: '/policy/p' })
      .reply(200, { status: 'success' })
      .delay(600);
    const started = Date.now();
    const err = await catchError(client({ timeoutMs: 100 }).getPolicyStatus('p'));
    const elapsed = Date.now() - started;
    // Let the late reply arrive: it must be swallowed, not surface as an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, step: 'poll_status' });
    expect(err.message).toBe('poll policy status: timed out after 100 ms');
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(500);
  });

  it('undici timeout errors are timeouts', async () => {
    mockAgent
      .get(ORIGIN)
      .intercept({ method: 'POST', path: '/circuit' })
      .replyWithError(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    const err = await catchError(client().triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k' }));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    expect(err.message).toBe('trigger circuit breaker: timed out after 30000 ms');
  });

  it('invalid JSON is not retryable and carries an excerpt', async () => {
    intercept('POST', '/circuit', 200, '{"policy_id": "x", ');
    const err = await catchError(client().triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k' }));
    expect(err).toMatchObject({ kind: 'invalid_json', retryable: false, httpStatus: 200 });
    expect(err.bodyExcerpt).toBe('{"policy_id": "x", ');
    expect(err.message).toMatch(
      /^trigger circuit breaker: invalid JSON in response: .+; body: \{"policy_id": "x", $/,
    );
  });

  it('an empty 2xx body is invalid JSON', async () => {
    intercept('GET', '/policy/p', 200, '');
    const err = await catchError(client().getPolicyStatus('p'));
    expect(err).toMatchObject({ kind: 'invalid_json', retryable: false });
  });

  it('a response without policy_id is an invalid response', async () => {
    for (const body of [{ status: 'created' }, { policy_id: '' }, { policy_id: 42 }]) {
      intercept('POST', '/createpolicy', 200, body);
      const err = await catchError(client().createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' }));
      expect(err).toMatchObject({ kind: 'invalid_response', retryable: false, httpStatus: 200 });
      expect(err.message).toBe("create policy: response lacks required field 'policy_id'");
    }
  });

  it('a status response without status is an invalid response', async () => {
    intercept('GET', '/policy/p', 200, { policy_id: 'p', state: 'ready' });
    const err = await catchError(client().getPolicyStatus('p'));
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false });
    expect(err.message).toBe("poll policy status: response lacks required field 'status'");
  });

  it('a JSON response that is not an object is an invalid response', async () => {
    for (const body of ['[1,2]', '"ok"', 'null', '42']) {
      intercept('GET', '/policy/p', 200, body);
      const err = await catchError(client().getPolicyStatus('p'));
      expect(err).toMatchObject({ kind: 'invalid_response', retryable: false });
      expect(err.message).toBe('poll policy status: response is not a JSON object');
    }
  });

  it('an oversize body is too_large and not retryable', async () => {
    intercept('POST', '/createpolicy', 200, { policy_id: 'p', padding: 'x'.repeat(5000) });
    const err = await catchError(
      client({ maxResponseBytes: 1000 }).createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' }),
    );
    expect(err).toMatchObject({ kind: 'too_large', retryable: false, httpStatus: 200 });
    expect(err.message).toBe('create policy: response larger than 1000 bytes');
  });

  it('a body of exactly the cap is fine', async () => {
    const base = JSON.stringify({ policy_id: 'p', padding: '' });
    const body = JSON.stringify({ policy_id: 'p', padding: 'x'.repeat(1000 - base.length) });
    expect(body.length).toBe(1000);
    intercept('POST', '/createpolicy', 200, body);
    const res = await client({ maxResponseBytes: 1000 }).createPolicy(policy, {
      idempotencyKey: 'k',
      executionId: 'e',
    });
    expect(res.policyId).toBe('p');
  });

  it('an oversize error body still gives the HTTP error', async () => {
    intercept('GET', '/policy/p', 503, 'y'.repeat(5000));
    const err = await catchError(client({ maxResponseBytes: 1000 }).getPolicyStatus('p'));
    expect(err).toMatchObject({ kind: 'http', retryable: true, httpStatus: 503 });
    expect(err.bodyExcerpt!.length).toBe(200);
  });

  it('never puts the token in an error message', async () => {
    const pool = mockAgent.get(ORIGIN);
    // Servers that echo the credentials back in error bodies.
    pool
      .intercept({ method: 'POST', path: '/createpolicy' })
      .reply((opts) => ({ statusCode: 401, data: `bad credentials: ${headersOf(opts).authorization}` }));
    pool
      .intercept({ method: 'GET', path: '/policy/p' })
      .reply((opts) => ({ statusCode: 200, data: `not json ${headersOf(opts).authorization}` }));
    pool
      .intercept({ method: 'POST', path: '/circuit' })
      .replyWithError(Object.assign(new Error(`socket hang up ${TOKEN}`), { code: 'ECONNRESET' }));
    pool.intercept({ method: 'GET', path: '/policy/q' }).reply(200, { message: TOKEN });
    const api = client({ token: TOKEN });
    const errors = [
      await catchError(api.createPolicy(policy, { idempotencyKey: 'k', executionId: 'e' })),
      await catchError(api.getPolicyStatus('p')),
      await catchError(api.triggerCircuitBreaker(cbRequest, { idempotencyKey: 'k' })),
      await catchError(api.getPolicyStatus('q')),
    ];
    expect(errors.map((e) => e.kind)).toEqual(['http', 'invalid_json', 'network', 'invalid_response']);
    for (const e of errors) {
      expect(e.message).not.toContain(TOKEN);
      expect(e.bodyExcerpt ?? '').not.toContain(TOKEN);
      expect(String(e.stack)).not.toContain(TOKEN);
    }
    expect(errors[0]!.message).toBe(
      'create policy: HTTP 401 Unauthorized: bad credentials: Bearer [REDACTED]',
    );
  });
});

describe('configuration and lifecycle', () => {
  it('rejects bad configuration without echoing the token', () => {
    expect(() => createPolicyApiClient({ baseUrl: 'ftp://x', dispatcher: mockAgent })).toThrow(
      /http or https/,
    );
    expect(() => createPolicyApiClient({ baseUrl: 'not a url', dispatcher: mockAgent })).toThrow(
      /not a valid URL/,
    );
    expect(() => createPolicyApiClient({ baseUrl: ORIGIN, timeoutMs: 0, dispatcher: mockAgent })).toThrow(
      /timeoutMs/,
    );
    let message = '';
    try {
      createPolicyApiClient({ baseUrl: ORIGIN, token: `${TOKEN}\r\nX-Evil: 1`, dispatcher: mockAgent });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/token contains characters not allowed/);
    expect(message).not.toContain(TOKEN);
  });

  it('refuses a deadline that leaves an API activity attempt no time for its state write', () => {
    expect(MAX_API_TIMEOUT_MS).toBeLessThan(API_ACTIVITY_START_TO_CLOSE_MS);
    const api = createPolicyApiClient({
      baseUrl: ORIGIN,
      timeoutMs: MAX_API_TIMEOUT_MS,
      dispatcher: mockAgent,
    });
    void api.close();
    expect(() =>
      createPolicyApiClient({ baseUrl: ORIGIN, timeoutMs: MAX_API_TIMEOUT_MS + 1, dispatcher: mockAgent }),
    ).toThrow(
      new RegExp(
        `POLICY_API_TIMEOUT_MS\\) must be at most ${MAX_API_TIMEOUT_MS}, got ${MAX_API_TIMEOUT_MS + 1}`,
      ),
    );
  });

  it('close() leaves a passed-in dispatcher open; calls after close fail retryably', async () => {
    const api = createPolicyApiClient({ baseUrl: ORIGIN, dispatcher: mockAgent });
    await api.close();
    await api.close();
    intercept('GET', '/policy/p', 200, { status: 'ready' });
    await expect(client().getPolicyStatus('p')).resolves.toMatchObject({ status: 'ready' });
    const err = await catchError(api.getPolicyStatus('p'));
    expect(err).toMatchObject({ kind: 'network', retryable: true });
  });

  it('close() closes the owned agent', async () => {
    const api = createPolicyApiClient({ baseUrl: 'http://127.0.0.1:9' });
    await expect(api.close()).resolves.toBeUndefined();
    const err = await catchError(api.getPolicyStatus('p'));
    expect(err).toMatchObject({ kind: 'network', retryable: true });
  });
});
