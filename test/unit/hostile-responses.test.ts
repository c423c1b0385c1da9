/**
 * Hostile API responses, end to end over real HTTP: the simulator answers with hostile policy ids,
 * raw bodies (duplicate keys, wrong types, missing fields, non-objects, reflected credentials) and
 * the real client must keep ids as one encoded path segment, classify every bad answer as a
 * non-retryable error naming the step and the cause, and never let the token out.
 * The chaos scenario `hostile-responses` runs the same answers through real workflows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyApiClient } from '../../src/policy-api/client';
import { PolicyApiError, type PolicyApi } from '../../src/policy-api/types';
import { startSimulator, type RequestLogEntry, type Simulator } from '../../devtools/simulator/server';
import { HOSTILE_POLICY_IDS } from '../fixtures/corpora/hostile-policy-ids';
import { findSecret, makeToken } from '../fixtures/secrets';

const TOKEN = makeToken();
let sim: Simulator;
let api: PolicyApi;
const seen: RequestLogEntry[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, quiet: true, onRequest: (e) => seen.push({ ...e }) });
  api = createPolicyApiClient({ baseUrl: sim.url, token: TOKEN, timeoutMs: 2000 });
});
afterAll(async () => {
  await api.close();
  await sim.close();
});
afterEach(() => {
  sim.reset();
  seen.length = 0;
});

const POLICY = { policy_name: 'p', policy_type: 't', priority: 'high' as const, created_by: 'me' };

async function create(expected: string, key = `k-${expected}`) {
  return api.createPolicy(
    { ...POLICY, expected_policy_id: expected },
    { idempotencyKey: key, executionId: 'e' },
  );
}

async function failure(p: Promise<unknown>): Promise<PolicyApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PolicyApiError);
  return err as PolicyApiError;
}

describe('hostile policy ids', () => {
  it.each(HOSTILE_POLICY_IDS.map((id) => [JSON.stringify(id), id]))(
    'the id %s stays one encoded path segment',
    async (_label, id) => {
      sim.scriptPolicy('hostile-1', { assignPolicyId: id, statuses: ['ready'] });
      const created = await create('hostile-1');
      expect(created.policyId).toBe(id);
      const status = await api.getPolicyStatus(id);
      expect(status.status).toBe('ready');
      const get = sim.requests().find((r) => r.op === 'status');
      expect(get?.path).toBe(`/policy/${encodeURIComponent(id)}`);
      expect(get?.path.slice('/policy/'.length)).not.toMatch(/[/?#\s]/);
      expect(get?.query).toBeNull();
      expect(get?.policyId).toBe(id);
      expect(get?.responseStatus).toBe(200);
    },
  );

  it.each(['.', '..'])('refuses the dot segment %s without a request', async (id) => {
    const err = await failure(api.getPolicyStatus(id));
    expect(err).toMatchObject({ step: 'poll_status', kind: 'invalid_response', retryable: false });
    expect(sim.requests()).toHaveLength(0);
  });
});

describe('hostile bodies', () => {
  const cases: {
    name: string;
    on: 'create' | 'status' | 'circuit';
    body: string;
    /** Accepted: check the mapped result; rejected: the message must match. */
    accept?: (r: Record<string, unknown>) => void;
    reject?: RegExp;
  }[] = [
    {
      name: 'create without policy_id',
      on: 'create',
      body: '{"status":"created"}',
      reject: /lacks required field 'policy_id'/,
    },
    {
      name: 'create with a numeric policy_id',
      on: 'create',
      body: '{"policy_id":42}',
      reject: /lacks required field 'policy_id'/,
    },
    {
      name: 'create with an empty policy_id',
      on: 'create',
      body: '{"policy_id":""}',
      reject: /lacks required field 'policy_id'/,
    },
    {
      name: 'create answering an array',
      on: 'create',
      body: '[{"policy_id":"x"}]',
      reject: /not a JSON object/,
    },
    { name: 'create answering null', on: 'create', body: 'null', reject: /not a JSON object/ },
    { name: 'create answering a string', on: 'create', body: '"x"', reject: /not a JSON object/ },
    { name: 'create answering HTML', on: 'create', body: '<html>oops</html>', reject: /invalid JSON/ },
    { name: 'create answering nothing', on: 'create', body: '', reject: /invalid JSON/ },
    {
      name: 'create with a 3000-character policy_id (it would not fit a search attribute)',
      on: 'create',
      body: `{"policy_id":"${'L'.repeat(3000)}"}`,
      reject: /response field 'policy_id' is longer than 256 characters/,
    },
    {
      name: 'create with duplicate policy_id keys (the last one wins, like JSON.parse)',
      on: 'create',
      body: '{"policy_id":"first","policy_id":"second","status":"created"}',
      accept: (r) => expect(r.policyId).toBe('second'),
    },
    {
      name: 'create with wrong-typed optional fields (mapped to null)',
      on: 'create',
      body: '{"policy_id":"p1","execution_id":7,"status":["created"],"message":{"m":1}}',
      accept: (r) =>
        expect(r).toMatchObject({ policyId: 'p1', executionId: null, status: null, message: null }),
    },
    {
      name: 'create with a __proto__ key (kept as data)',
      on: 'create',
      body: '{"policy_id":"p1","__proto__":{"polluted":true}}',
      accept: (r) => {
        expect(Object.keys(r.raw as object)).toContain('__proto__');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      },
    },
    {
      name: 'create with an unpaired surrogate (made storable)',
      on: 'create',
      body: '{"policy_id":"p1","note":"bad \\ud800 text"}',
      accept: (r) => expect((r.raw as Record<string, unknown>).note).toBe('bad \ufffd text'),
    },
    {
      name: 'status without status',
      on: 'status',
      body: '{"policy_id":"p1"}',
      reject: /lacks required field 'status'/,
    },
    {
      name: 'status with a numeric status',
      on: 'status',
      body: '{"status":1}',
      reject: /lacks required field 'status'/,
    },
    {
      name: 'status with a null status',
      on: 'status',
      body: '{"status":null}',
      reject: /lacks required field 'status'/,
    },
    {
      name: 'status with duplicate status keys (the last one wins)',
      on: 'status',
      body: '{"status":"failed","status":"ready"}',
      accept: (r) => expect(r.status).toBe('ready'),
    },
    {
      name: 'status with an unexpected status string (passed on as is)',
      on: 'status',
      body: '{"status":"ReAdY-ish \\n"}',
      accept: (r) => expect(r.status).toBe('ReAdY-ish \n'),
    },
    { name: 'circuit answering a number', on: 'circuit', body: '7', reject: /not a JSON object/ },
    {
      name: 'circuit with every field of the wrong type',
      on: 'circuit',
      body: '{"circuit_breaker_id":1,"status":false,"message":[]}',
      accept: (r) => expect(r).toMatchObject({ circuitBreakerId: null, status: null, message: null }),
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const id = `body-${c.on}`;
    sim.scriptPolicy(id, { faults: [{ on: c.on, kind: 'raw_body', body: c.body }] });
    const call = async (): Promise<Record<string, unknown>> => {
      if (c.on === 'create') return { ...(await create(id)) };
      await create(id);
      if (c.on === 'status') return { ...(await api.getPolicyStatus(id)) };
      return {
        ...(await api.triggerCircuitBreaker(
          { policy_id: id, execution_id: 'e', trigger_reason: 'policy_execution_completed', timestamp: 't' },
          { idempotencyKey: 'cb' },
        )),
      };
    };
    if (c.accept) c.accept(await call());
    else {
      const err = await failure(call());
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(c.reject ?? /./);
      const label = {
        create: 'create policy',
        status: 'poll policy status',
        circuit: 'trigger circuit breaker',
      }[c.on];
      expect(err.message.startsWith(`${label}: `)).toBe(true);
    }
  });
});

describe('reflected credentials', () => {
  // The token at every offset around the 200-character excerpt cut, in error bodies, invalid JSON and
  // valid JSON: no 8-character piece of it may come back.
  const offsets = [0, 150, 185, 190, 195, 199, 205, 400];
  it.each(offsets)(
    'an API reflecting the Authorization header at offset %i leaks nothing',
    async (offset) => {
      const pad = 'x'.repeat(offset);
      const bodies: { status: number; body: string }[] = [
        { status: 500, body: `${pad}{{authorization}}` },
        { status: 404, body: `${pad}{{authorization}}` },
        { status: 200, body: `${pad}{{authorization}}` },
        { status: 200, body: `{"a":"${pad}{{authorization}}"` },
        { status: 200, body: `{"policy_id":7,"echo":"${pad}{{authorization}}"}` },
        { status: 200, body: `{"policy_id":"ok","echo":"${pad}{{authorization}}","{{authorization}}":1}` },
      ];
      for (const b of bodies) {
        sim.reset();
        sim.scriptPolicy('echo', {
          faults: [{ on: 'create', kind: 'raw_body', body: b.body, status: b.status }],
        });
        const out = await create('echo').then(
          (r) => JSON.stringify(r),
          (e: unknown) => JSON.stringify({ m: (e as Error).message, x: (e as PolicyApiError).bodyExcerpt }),
        );
        // The token did reach the API, so the check is not vacuous.
        expect(sim.requests()[0]?.authorizationHeader).toBe(`Bearer ${TOKEN}`);
        expect(findSecret(out, TOKEN), `${b.status} ${b.body.slice(-40)} -> ${out.slice(0, 300)}`).toBeNull();
      }
    },
  );
});

describe('the secret scanner', () => {
  it('finds any 8-character piece of the random part, and says where without repeating it', () => {
    const random = TOKEN.slice('sk_chaos_'.length);
    expect(findSecret(`x ${TOKEN} y`, TOKEN)).toBe('characters 9-16 of the token');
    expect(findSecret(`cut …${random.slice(20, 28)}`, TOKEN)).toBe('characters 29-36 of the token');
    expect(findSecret(`only ${random.slice(0, 7)} and sk_chaos_`, TOKEN)).toBeNull();
  });
});

describe('hostile headers and sizes', () => {
  it('a huge Retry-After is honoured only up to a bound', async () => {
    sim.scriptPolicy('ra', { faults: [{ on: 'create', kind: 'http429', retryAfterSeconds: 86_400 }] });
    const err = await failure(create('ra'));
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(86_400_000);
  });

  it('a deeply nested response is a non-retryable error of the step, not a crash', async () => {
    const deep = `{"policy_id":"p","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    sim.scriptPolicy('deep', { faults: [{ on: 'create', kind: 'raw_body', body: deep }] });
    const err = await failure(create('deep'));
    expect(err).toMatchObject({ kind: 'invalid_response', retryable: false });
    expect(err.message).toBe('create policy: response nests deeper than 64 levels');
  });
});

describe('simulator hooks used by the chaos suite', () => {
  it('onRequest sees every API request as it arrives, before it is answered', async () => {
    await create('hook');
    expect(seen.map((e) => [e.op, e.responseStatus])).toEqual([['create', null]]);
    expect(sim.requests()[0]?.responseStatus).toBe(200);
  });

  it('marks the requests whose side effect happened (committed), not replays or faulted ones', async () => {
    sim.scriptPolicy('c1', { faults: [{ on: 'create', kind: 'http500' }] });
    await failure(create('c1', 'key-1'));
    await create('c1', 'key-1');
    await create('c1', 'key-1');
    sim.scriptPolicy('c2', { faults: [{ on: 'create', kind: 'reset', afterCommit: true }] });
    await failure(create('c2', 'key-2'));
    await api.triggerCircuitBreaker(
      { policy_id: 'c1', execution_id: 'e', trigger_reason: 'policy_execution_completed', timestamp: 't' },
      { idempotencyKey: 'cb-1' },
    );
    expect(sim.requests().map((r) => [r.op, r.committed, r.replayed])).toEqual([
      ['create', false, false],
      ['create', true, false],
      ['create', false, true],
      ['create', true, false],
      ['circuit', true, false],
    ]);
  });

  it('latency spikes delay the chosen share of requests', async () => {
    sim.setChaos({ failureRate: 0, kind: 'http500', spikeRate: 1, spikeMs: 300 });
    const t0 = Date.now();
    await create('spike');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('raw_body needs a body and a sane status', () => {
    expect(() => sim.setGlobalFaults([{ on: 'any', kind: 'raw_body' }])).toThrow(/body is required/);
    expect(() => sim.setGlobalFaults([{ on: 'any', kind: 'raw_body', body: '', status: 99 }])).toThrow(
      /status/,
    );
  });
});
