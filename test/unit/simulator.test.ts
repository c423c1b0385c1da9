import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request as undiciRequest } from 'undici';
import { startSimulator, type Simulator } from '../../devtools/simulator/server';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, quiet: true });
});

afterAll(async () => {
  await sim.close();
});

afterEach(() => {
  sim.reset();
});

const SAMPLE_POLICY = {
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

type Json = Record<string, unknown>;

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function createPolicy(body: Json, key?: string): Promise<{ status: number; json: Json }> {
  const res = await post('/createpolicy', body, key ? { 'idempotency-key': key } : {});
  return { status: res.status, json: (await res.json()) as Json };
}

async function getStatus(id: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${sim.url}/policy/${encodeURIComponent(id)}`, {
    headers: { accept: 'application/json' },
  });
  return { status: res.status, json: (await res.json()) as Json };
}

async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('policy API simulator: endpoints', () => {
  it('answers health', async () => {
    const res = await fetch(`${sim.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('creates, polls and triggers the circuit breaker with the guide shapes', async () => {
    const created = await createPolicy(SAMPLE_POLICY, 'k-create-1');
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      policy_id: SAMPLE_POLICY.expected_policy_id,
      status: 'created',
      message: 'Policy created successfully',
    });
    expect(created.json.execution_id).toMatch(/^exec_\d{8}_\d{6}_[0-9a-f]+$/);

    const polled = await getStatus(SAMPLE_POLICY.expected_policy_id);
    expect(polled.status).toBe(200);
    expect(polled.json).toEqual({
      policy_id: SAMPLE_POLICY.expected_policy_id,
      status: 'success',
      message: 'Policy is ready for circuit breaker',
    });

    const cbRes = await post(
      '/circuit',
      {
        policy_id: SAMPLE_POLICY.expected_policy_id,
        execution_id: created.json.execution_id,
        trigger_reason: 'policy_execution_completed',
        timestamp: '2024-01-01T12:00:00',
      },
      { 'idempotency-key': 'k-circuit-1' },
    );
    expect(cbRes.status).toBe(200);
    expect(cbRes.headers.get('content-type')).toBe('application/json');
    const cb = (await cbRes.json()) as Json;
    expect(cb).toMatchObject({ status: 'initiated', message: 'Circuit breaker initiated successfully' });
    expect(cb.circuit_breaker_id).toMatch(/^cb_/);

    const stats = sim.stats();
    expect(stats).toMatchObject({ creates: 1, createRequests: 1, statusRequests: 1, circuitTriggers: 1 });
    expect(stats.perPolicy[SAMPLE_POLICY.expected_policy_id]).toEqual({
      creates: 1,
      createRequests: 1,
      statusRequests: 1,
      circuitRequests: 1,
      circuitTriggers: 1,
    });
  });

  it('uses the given execution_id, or generates a random policy id when none is expected', async () => {
    const a = await createPolicy({ policy_name: 'p', execution_id: 'exec-given-1' });
    expect(a.json.execution_id).toBe('exec-given-1');
    expect(a.json.policy_id).toMatch(/^[0-9a-f-]{36}$/);
    const b = await createPolicy({ policy_name: 'p' });
    expect(b.json.policy_id).not.toBe(a.json.policy_id);
    expect(sim.stats().creates).toBe(2);
    expect(sim.stats().perPolicy[a.json.policy_id as string]?.createRequests).toBe(1);
  });

  it('is idempotent by Idempotency-Key for create and circuit', async () => {
    const first = await createPolicy({ policy_name: 'p' }, 'same-key');
    const second = await createPolicy({ policy_name: 'p' }, 'same-key');
    expect(second.json).toEqual(first.json);
    const third = await createPolicy({ policy_name: 'p' }, 'other-key');
    expect(third.json.policy_id).not.toBe(first.json.policy_id);

    const cbBody = { policy_id: first.json.policy_id, execution_id: first.json.execution_id };
    const cb1 = (await (await post('/circuit', cbBody, { 'idempotency-key': 'cb-key' })).json()) as Json;
    const cb2 = (await (await post('/circuit', cbBody, { 'idempotency-key': 'cb-key' })).json()) as Json;
    expect(cb2).toEqual(cb1);

    const stats = sim.stats();
    expect(stats.creates).toBe(2);
    expect(stats.createRequests).toBe(3);
    expect(stats.circuitRequests).toBe(2);
    expect(stats.circuitTriggers).toBe(1);
    expect(stats.idempotentReplays).toBe(2);
    const replayed = sim.requests().filter((r) => r.replayed);
    expect(replayed.map((r) => r.op)).toEqual(['create', 'circuit']);
  });

  it('plays a scripted status sequence and repeats the last status', async () => {
    const id = 'scripted-1';
    sim.scriptPolicy(id, { statuses: ['pending', 'processing', 'ready'] });
    await createPolicy({ expected_policy_id: id }, 'k1');
    const seen: Json[] = [];
    for (let i = 0; i < 4; i++) seen.push((await getStatus(id)).json);
    expect(seen.map((s) => s.status)).toEqual(['pending', 'processing', 'ready', 'ready']);
    expect(seen.map((s) => s.message)).toEqual([
      'Policy is still being processed',
      'Policy is still being processed',
      'Policy is ready for circuit breaker',
      'Policy is ready for circuit breaker',
    ]);
  });

  it('scripts through the admin API, including a default script and failed statuses', async () => {
    expect((await admin('PUT', '/_sim/default', { statuses: ['processing', 'completed'] })).status).toBe(200);
    expect(
      (await admin('PUT', `/_sim/policies/${encodeURIComponent('f/1')}`, { statuses: ['failed'] })).status,
    ).toBe(200);
    await createPolicy({ expected_policy_id: 'plain' });
    await createPolicy({ expected_policy_id: 'f/1' });
    expect((await getStatus('plain')).json.status).toBe('processing');
    expect((await getStatus('plain')).json.status).toBe('completed');
    expect((await getStatus('f/1')).json).toEqual({
      policy_id: 'f/1',
      status: 'failed',
      message: 'Policy creation failed',
    });
    const bad = await admin('PUT', '/_sim/policies/x', { statuses: [] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatch(/statuses/);
  });

  it('round-trips ids containing / ? # space and percent', async () => {
    const ids = ['a/b', 'what?x=1', 'frag#ment', 'with space', '100%', '../..'];
    for (const id of ids) {
      const created = await createPolicy({ expected_policy_id: id }, `key-${id}`);
      expect(created.json.policy_id).toBe(id);
      const polled = await getStatus(id);
      expect(polled.status).toBe(200);
      expect(polled.json.policy_id).toBe(id);
    }
    expect(sim.requests({ policyId: 'a/b' }).map((r) => r.op)).toEqual(['create', 'status']);
    expect(sim.requests({ policyId: 'a/b' })[1]?.path).toBe('/policy/a%2Fb');
  });

  it('answers 404 for an unknown policy, on status and circuit', async () => {
    const res = await getStatus('nope');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'policy not found' });
    const cb = await post('/circuit', { policy_id: 'nope', execution_id: 'e' });
    expect(cb.status).toBe(404);
    const unknownPath = await fetch(`${sim.url}/nothing-here`);
    expect(unknownPath.status).toBe(404);
  });

  it('rejects request bodies over 1 MiB with 413', async () => {
    const res = await post('/createpolicy', { policy_name: 'big', blob: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(sim.stats().creates).toBe(0);
    expect(sim.requests()[0]?.responseStatus).toBe(413);
  });

  it('answers 400 for a create body that is not a JSON object', async () => {
    const res = await fetch(`${sim.url}/createpolicy`, { method: 'POST', body: 'not json' });
    expect(res.status).toBe(400);
  });
});

describe('policy API simulator: httpbin stand-ins', () => {
  it('echoes POST /post like httpbin', async () => {
    const res = await post('/post?x=1', { policy_name: 'test_policy' }, { authorization: 'Bearer t0k' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      args: { x: '1' },
      data: '{"policy_name":"test_policy"}',
      files: {},
      form: {},
      json: { policy_name: 'test_policy' },
      origin: '127.0.0.1',
      url: `${sim.url}/post?x=1`,
    });
    expect((body.headers as Json)['Content-Type']).toBe('application/json');
    expect((body.headers as Json).Authorization).toBe('Bearer t0k');
  });

  it('echoes GET /get with query args', async () => {
    const res = await fetch(`${sim.url}/get?policy_id=abc&a=1&a=2`);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ args: { policy_id: 'abc', a: ['1', '2'] }, origin: '127.0.0.1' });
    expect(body.url).toBe(`${sim.url}/get?policy_id=abc&a=1&a=2`);
    expect(sim.requests()[0]).toMatchObject({ op: 'httpbin_get', policyId: 'abc' });
  });
});

describe('policy API simulator: faults', () => {
  it('http500 once, then success', async () => {
    sim.scriptPolicy('p500', { faults: [{ on: 'create', kind: 'http500' }] });
    const a = await createPolicy({ expected_policy_id: 'p500' }, 'k');
    expect(a.status).toBe(500);
    expect(sim.stats().creates).toBe(0);
    const b = await createPolicy({ expected_policy_id: 'p500' }, 'k');
    expect(b.status).toBe(200);
    expect(sim.stats().creates).toBe(1);
    expect(sim.requests().map((r) => [r.responseStatus, r.fault])).toEqual([
      [500, 'http500'],
      [200, null],
    ]);
  });

  it('http429 carries Retry-After; http503 honours times', async () => {
    sim.setGlobalFaults([
      { on: 'status', kind: 'http429', retryAfterSeconds: 7 },
      { on: 'status', kind: 'http503', times: 2 },
    ]);
    await createPolicy({ expected_policy_id: 'p429' });
    const r1 = await fetch(`${sim.url}/policy/p429`);
    expect(r1.status).toBe(429);
    expect(r1.headers.get('retry-after')).toBe('7');
    await r1.body?.cancel();
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${sim.url}/policy/p429`);
      codes.push(r.status);
      await r.body?.cancel();
    }
    expect(codes).toEqual([503, 503, 200]);
  });

  it('hang: never answers, the client times out', async () => {
    sim.scriptPolicy('phang', { faults: [{ on: 'status', kind: 'hang', times: -1 }] });
    await createPolicy({ expected_policy_id: 'phang' });
    const started = Date.now();
    await expect(fetch(`${sim.url}/policy/phang`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const entry = sim.requests({ policyId: 'phang' }).find((r) => r.op === 'status');
    expect(entry).toMatchObject({ fault: 'hang', responseStatus: null });
  });

  it('malformed_json: 200 with truncated JSON', async () => {
    sim.setGlobalFaults([{ on: 'create', kind: 'malformed_json' }]);
    const res = await post('/createpolicy', { policy_name: 'p' });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe('{"policy_id": "x", ');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });

  it('reset: the connection is cut without a response', async () => {
    sim.setGlobalFaults([{ on: 'any', kind: 'reset' }]);
    await expect(post('/createpolicy', { policy_name: 'p' })).rejects.toThrow();
    expect(sim.requests()[0]).toMatchObject({ fault: 'reset', responseStatus: null });
    // Consumed: the next request goes through.
    expect((await post('/createpolicy', { policy_name: 'p' })).status).toBe(200);
  });

  it('oversize: a huge but valid JSON body', async () => {
    sim.scriptPolicy('pbig', { faults: [{ on: 'status', kind: 'oversize' }] });
    await createPolicy({ expected_policy_id: 'pbig' });
    const res = await fetch(`${sim.url}/policy/pbig`);
    const text = await res.text();
    expect(text.length).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(JSON.parse(text)).toMatchObject({ policy_id: 'pbig' });
  });

  it('afterCommit: the create happens but the client sees the fault; a retry replays it', async () => {
    sim.scriptPolicy('pac', { faults: [{ on: 'create', kind: 'reset', afterCommit: true }] });
    await expect(
      post('/createpolicy', { expected_policy_id: 'pac' }, { 'idempotency-key': 'ac' }),
    ).rejects.toThrow();
    expect(sim.stats().creates).toBe(1);
    const retry = await createPolicy({ expected_policy_id: 'pac' }, 'ac');
    expect(retry.status).toBe(200);
    expect(sim.stats()).toMatchObject({ creates: 1, idempotentReplays: 1 });
  });

  it('latency delays the answer', async () => {
    sim.scriptPolicy('pslow', { latencyMs: 150 });
    await createPolicy({ expected_policy_id: 'pslow' });
    const started = Date.now();
    expect((await getStatus('pslow')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('faults set through the admin API apply and validate', async () => {
    expect(
      (await admin('PUT', '/_sim/faults', { faults: [{ on: 'circuit', kind: 'http503' }] })).status,
    ).toBe(200);
    expect((await admin('PUT', '/_sim/faults', { faults: [{ on: 'x', kind: 'http503' }] })).status).toBe(400);
    await createPolicy({ expected_policy_id: 'pc' });
    const r = await post('/circuit', { policy_id: 'pc', execution_id: 'e' });
    expect(r.status).toBe(503);
  });

  it('down switch: reset mode and 503 mode; admin stays up', async () => {
    sim.setDown(true);
    await expect(fetch(`${sim.url}/health`)).rejects.toThrow();
    expect((await admin('GET', '/_sim/stats')).status).toBe(200);
    expect((await admin('PUT', '/_sim/down', { down: true, mode: '503' })).status).toBe(200);
    const r = await fetch(`${sim.url}/health`);
    expect(r.status).toBe(503);
    await r.body?.cancel();
    sim.setDown(false);
    expect((await fetch(`${sim.url}/health`)).status).toBe(200);
  });

  it('chaos is deterministic for a seed', async () => {
    const run = async (): Promise<number[]> => {
      sim.reset();
      sim.setChaos({ failureRate: 0.5, kind: 'http500', seed: 42 });
      const codes: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await fetch(`${sim.url}/get`);
        codes.push(r.status);
        await r.body?.cancel();
      }
      return codes;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a).toContain(500);
    expect(a).toContain(200);
  });
});

describe('policy API simulator: request log and admin', () => {
  it('logs method, path, policy id, idempotency key, authorization and body', async () => {
    const res = await undiciRequest(`${sim.url}/createpolicy`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': 'exec-1:create',
        authorization: 'Bearer secret-token',
      },
      body: JSON.stringify({ expected_policy_id: 'logged', policy_name: 'p' }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.json();
    await getStatus('logged');

    const entries = sim.requests({ policyId: 'logged' });
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      seq: 1,
      method: 'POST',
      path: '/createpolicy',
      op: 'create',
      policyId: 'logged',
      idempotencyKey: 'exec-1:create',
      authorization: true,
      authorizationHeader: 'Bearer secret-token',
      body: { expected_policy_id: 'logged', policy_name: 'p' },
      responseStatus: 200,
    });
    expect(new Date(entries[0]!.at).toISOString()).toBe(entries[0]!.at);
    expect(entries[1]).toMatchObject({ seq: 2, method: 'GET', authorization: false, idempotencyKey: null });

    const viaHttp = (await (await admin('GET', '/_sim/requests?policy_id=logged')).json()) as {
      requests: Json[];
    };
    expect(viaHttp.requests).toHaveLength(2);
    const stats = (await (await admin('GET', '/_sim/stats')).json()) as Json;
    expect(stats).toMatchObject({ creates: 1, statusRequests: 1 });

    expect((await admin('DELETE', '/_sim/requests')).status).toBe(200);
    expect(sim.requests()).toHaveLength(0);
  });

  it('POST /_sim/reset clears policies, scripts and the log', async () => {
    sim.scriptPolicy('gone', { statuses: ['pending'] });
    await createPolicy({ expected_policy_id: 'gone' });
    expect((await admin('POST', '/_sim/reset')).status).toBe(200);
    expect(sim.requests()).toHaveLength(0);
    expect(sim.stats().creates).toBe(0);
    expect((await getStatus('gone')).status).toBe(404);
  });

  it('close() ends hung sockets', async () => {
    const other = await startSimulator({ port: 0, quiet: true });
    other.setGlobalFaults([{ on: 'any', kind: 'hang', times: -1 }]);
    const pending = fetch(`${other.url}/get`).then(
      () => 'answered',
      () => 'failed',
    );
    // Let the request arrive before closing.
    for (let i = 0; i < 50 && other.requests().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await other.close();
    expect(await pending).toBe('failed');
  });

  it('startSimulator rejects with EADDRINUSE on a taken port', async () => {
    await expect(startSimulator({ port: sim.port, quiet: true })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
