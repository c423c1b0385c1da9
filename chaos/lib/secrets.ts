/**
 * The secret the chaos suite gives every worker (POLICY_API_TOKEN) and the scanner that looks for
 * it. The token's random part is base62, so any 8-character piece of it turning up somewhere is a
 * leak, not a coincidence: the scanner finds partial leaks (a token cut in half by an excerpt) too.
 */
import { randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'sk_chaos_';
/** Length of the pieces the scanner looks for. */
export const WINDOW = 8;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function makeToken(): string {
  const bytes = randomBytes(32);
  let out = TOKEN_PREFIX;
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/**
 * Where a WINDOW-character piece of the token's random part turns up in `text`, described without
 * repeating it (e.g. "characters 12-19 of the token"), or null.
 */
export function findSecret(text: string, token: string): string | null {
  const secret = token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : token;
  if (secret.length < WINDOW) return text.includes(secret) ? 'the token' : null;
  for (let i = 0; i + WINDOW <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + WINDOW))) {
      const at = TOKEN_PREFIX.length + i;
      return `characters ${at}-${at + WINDOW - 1} of the token`;
    }
  }
  return null;
}
