/**
 * The structured logger without a worker: JSON lines with time, level, component, message and
 * fields; the level threshold; the pretty format; the settings from LOG_LEVEL / LOG_FORMAT; and
 * secrets redacted from messages and fields (the environment's secret values, bearer tokens, PEM
 * keys, fields named like secrets).
 */
import { describe, expect, it } from 'vitest';
import { createLogger, logSettingsFromEnv } from '../../src/observability/logging';
import { createRedactor, secretValues } from '../../src/observability/redaction';

function capture(level: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  const logger = createLogger({
    level,
    format,
    component: 'worker',
    write: (l) => void lines.push(l),
    redactor: createRedactor(['s3cr3t-token-value']),
    colour: false,
  });
  return { logger, lines };
}

describe('the structured logger', () => {
  it('writes one JSON object a line with the fields, at or above its level', () => {
    const { logger, lines } = capture('INFO');
    logger.debug('not shown');
    logger.info('execution completed', { executionId: 'e-1', policyId: 'p-1', step: 'poll_status' });
    logger.child({ component: 'dispatcher' }).warn('could not start', { executionId: 'e-2' });
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toMatchObject({
      level: 'info',
      component: 'worker',
      msg: 'execution completed',
      executionId: 'e-1',
      policyId: 'p-1',
      step: 'poll_status',
    });
    expect(Number.isNaN(Date.parse(String(a?.time)))).toBe(false);
    expect(b).toMatchObject({ level: 'warn', component: 'dispatcher', executionId: 'e-2' });
  });

  it('redacts secrets from the message and every field', () => {
    const { logger, lines } = capture('INFO');
    logger.info('token s3cr3t-token-value sent with Bearer abc.def-123', {
      nested: { url: 'http://x/?t=s3cr3t-token-value' },
      authorization: 'whatever',
      key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----',
    });
    const text = lines.join('\n');
    expect(text).not.toContain('s3cr3t-token-value');
    expect(text).not.toContain('abc.def-123');
    expect(text).not.toContain('MIIB');
    expect(text).not.toContain('whatever');
    expect(text).toContain('[REDACTED]');
  });

  it('prints a readable line in the pretty format, the ids first', () => {
    const { logger, lines } = capture('DEBUG', 'pretty');
    logger.info('execution completed', { attempt: 1, step: 'poll_status', executionId: 'e-1' });
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}worker {2}execution completed {2}executionId=e-1 step=poll_status attempt=1$/,
    );
  });
});

describe('log settings', () => {
  it('takes the level and format from the environment; pretty on a terminal by default', () => {
    expect(logSettingsFromEnv({}, false)).toEqual({ level: 'INFO', format: 'json' });
    expect(logSettingsFromEnv({}, true)).toEqual({ level: 'INFO', format: 'pretty' });
    expect(logSettingsFromEnv({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json' }, true)).toEqual({
      level: 'DEBUG',
      format: 'json',
    });
    expect(() => logSettingsFromEnv({ LOG_LEVEL: 'loud' }, false)).toThrow(/LOG_LEVEL/);
    expect(() => logSettingsFromEnv({ LOG_FORMAT: 'xml' }, false)).toThrow(/LOG_FORMAT/);
  });

  it('treats the values of secret-named variables as secrets, not paths to them', () => {
    const secrets = secretValues({
      POLICY_API_TOKEN: 'tok-1234',
      SNOWFLAKE_PASSWORD: 'pw-5678',
      SNOWFLAKE_PRIVATE_KEY_PATH: '/keys/rsa.p8',
      TEMPORAL_ADDRESS: 'localhost:7233',
    });
    expect(secrets.sort()).toEqual(['pw-5678', 'tok-1234']);
  });
});
