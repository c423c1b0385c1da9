/**
 * What of a policy API response may leave the client: single-line excerpts, control characters and
 * lone surrogates scrubbed, and the bearer token redacted from every text (messages, excerpts, bodies).
 */
import type { JsonValue } from '../policy/state';

const EXCERPT_CHARS = 200;
/** What stands in for a secret wherever one is scrubbed (API texts here, log lines in src/observability). */
export const REDACTED = '[REDACTED]';

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A UTF-16 surrogate without its partner. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A single-line excerpt of at most EXCERPT_CHARS characters, control characters replaced by spaces. */
export function excerpt(text: string): string {
  const line = text.replace(CONTROL_CHARS, ' ');
  if (line.length <= EXCERPT_CHARS) return line;
  let cut = line.slice(0, EXCERPT_CHARS - 1);
  // Don't leave half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Token-aware scrubbing for one client (one token). */
export interface Redactor {
  /** Removes the token from any text that might leave the client (messages, excerpts, raw bodies). */
  redact: (text: string) => string;
  /**
   * Redact first, then cut: cutting first could leave a token straddling the cut partly in the
   * excerpt, where redacting the whole token no longer matches (found by the chaos suite).
   */
  safeExcerpt: (text: string) => string;
  /** JSON.parse's message for `text`, which quotes the start of the text, so taken from the redacted text. */
  jsonErrorMessage: (text: string) => string;
  /**
   * A parsed response as it may be stored: token redacted, lone surrogates (valid in JSON text, but
   * not storable in the warehouse's JSON columns) replaced by U+FFFD, and keys kept as own
   * properties (`out[k] = v` would turn a `__proto__` key into a prototype and drop it).
   */
  cleanJson: (value: JsonValue) => JsonValue;
}

/** `token` undefined: nothing to redact, the other scrubbing still applies. */
export function createRedactor(token: string | undefined): Redactor {
  const redact = (text: string): string => (token === undefined ? text : text.split(token).join(REDACTED));
  const cleanString = (text: string): string => redact(text).replace(LONE_SURROGATE, '\ufffd');
  const cleanJson = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') return cleanString(v);
    if (Array.isArray(v)) return v.map(cleanJson);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, val]) => [cleanString(k), cleanJson(val)]));
    }
    return v;
  };
  return {
    redact,
    safeExcerpt: (text) => excerpt(redact(text)),
    jsonErrorMessage(text) {
      try {
        JSON.parse(redact(text));
        return 'not valid JSON';
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    },
    cleanJson,
  };
}
