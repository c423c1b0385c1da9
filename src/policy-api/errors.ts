/**
 * Every PolicyApiError is built and classified here (docs/design.md, decision 4): HTTP statuses and `Retry-After`,
 * transport failures (timeouts, resets, non-retryable codes) and unusable responses. Temporal's
 * retry policy retries on `retryable`; the client itself never retries.
 */
import { STATUS_CODES } from 'node:http';
import { STEP_LABELS } from '../policy/state';
import { excerpt, type Redactor } from './redact';
import { PolicyApiError, type ApiStep } from './types';

/** HTTP status → retryable? (docs/design.md, decision 4): 408, 429 and 5xx are; everything else is not. */
export function classifyHttpStatus(status: number): { retryable: boolean } {
  return { retryable: status === 408 || status === 429 || (status >= 500 && status <= 599) };
}

/** `Retry-After` (delta-seconds or HTTP-date) in milliseconds from `now`; undefined when absent or invalid. */
export function parseRetryAfter(
  header: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  // An HTTP-date always names a weekday and a month; don't let Date.parse accept e.g. "5.5".
  if (!/[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);
/** Errors that mean our request was malformed: retrying cannot help. */
const NON_RETRYABLE_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_URL']);

function errorCode(err: unknown): string | undefined {
  // An Error, or a non-array object (undici and Node errors carry `code`).
  const hasCode = err instanceof Error || (err !== null && typeof err === 'object' && !Array.isArray(err));
  if (!hasCode) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The errors of one client: its token is redacted from every message and excerpt. */
export interface PolicyApiErrors {
  /** A call on a closed client. */
  closed: (step: ApiStep) => PolicyApiError;
  /** A transport failure (no HTTP status): timeout or network error. A PolicyApiError passes through. */
  transport: (step: ApiStep, err: unknown, deadlinePassed: boolean) => PolicyApiError;
  /** A non-2xx HTTP status; `text` is the (possibly truncated) body, used only for the excerpt. */
  httpStatus: (
    step: ApiStep,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ) => PolicyApiError;
  /** A 2xx body over the size cap. */
  tooLarge: (step: ApiStep, status: number, text: string, maxBytes: number) => PolicyApiError;
  /** A 2xx body that is not JSON. */
  invalidJson: (step: ApiStep, status: number, text: string) => PolicyApiError;
  /** A 2xx body that does not have the shape the endpoint needs (`detail` says how). */
  invalidResponse: (step: ApiStep, status: number, raw: string, detail: string) => PolicyApiError;
  /** A request that cannot be sent as asked (e.g. an id that is no URL path segment). */
  invalidRequest: (step: ApiStep, detail: string) => PolicyApiError;
}

type FailArgs = Omit<ConstructorParameters<typeof PolicyApiError>[0], 'step' | 'message'> & {
  detail: string;
};

export function policyApiErrors(redactor: Redactor, timeoutMs: number): PolicyApiErrors {
  const { redact, safeExcerpt } = redactor;

  const fail = (step: ApiStep, args: FailArgs): PolicyApiError => {
    const { detail, ...rest } = args;
    return new PolicyApiError({
      ...rest,
      step,
      message: `${STEP_LABELS[step]}: ${redact(detail)}`,
      bodyExcerpt: rest.bodyExcerpt === undefined ? undefined : redact(rest.bodyExcerpt),
    });
  };

  const invalidResponse = (step: ApiStep, status: number, raw: string, detail: string): PolicyApiError =>
    fail(step, {
      kind: 'invalid_response',
      retryable: false,
      httpStatus: status,
      bodyExcerpt: safeExcerpt(raw),
      detail,
    });

  return {
    closed: (step) =>
      fail(step, { kind: 'network', retryable: true, detail: 'network error: client is closed' }),

    transport(step, err, deadlinePassed) {
      if (err instanceof PolicyApiError) return err;
      const code = errorCode(err);
      const name = err instanceof Error ? err.name : undefined;
      if (deadlinePassed || name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code))) {
        return fail(step, {
          kind: 'timeout',
          retryable: true,
          detail: `timed out after ${timeoutMs} ms`,
          cause: err,
        });
      }
      const message = err instanceof Error ? err.message : String(err);
      const detail = code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
      return fail(step, {
        kind: 'network',
        retryable: !(code !== undefined && NON_RETRYABLE_CODES.has(code)),
        detail: `network error: ${safeExcerpt(detail)}`,
        cause: err,
      });
    },

    httpStatus(step, status, headers, text) {
      const { retryable } = classifyHttpStatus(status);
      const bodyExcerpt = text.length > 0 ? safeExcerpt(text) : undefined;
      const reason = STATUS_CODES[status];
      const statusLine = reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
      return fail(step, {
        kind: 'http',
        retryable,
        httpStatus: status,
        retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(headers['retry-after']) : undefined,
        bodyExcerpt,
        detail: bodyExcerpt === undefined ? statusLine : `${statusLine}: ${bodyExcerpt}`,
      });
    },

    tooLarge: (step, status, text, maxBytes) =>
      fail(step, {
        kind: 'too_large',
        retryable: false,
        httpStatus: status,
        bodyExcerpt: safeExcerpt(text),
        detail: `response larger than ${maxBytes} bytes`,
      }),

    invalidJson(step, status, text) {
      const bodyExcerpt = safeExcerpt(text);
      // No `cause`: the SyntaxError's message quotes the unredacted body.
      return fail(step, {
        kind: 'invalid_json',
        retryable: false,
        httpStatus: status,
        bodyExcerpt,
        detail: `invalid JSON in response: ${excerpt(redactor.jsonErrorMessage(text))}; body: ${bodyExcerpt}`,
      });
    },

    invalidResponse,

    invalidRequest: (step, detail) => fail(step, { kind: 'invalid_response', retryable: false, detail }),
  };
}
