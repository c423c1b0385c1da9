/**
 * Hostile policy ids: what a broken or malicious policy API could answer as `policy_id`. Each must
 * stay ONE encoded path segment of the status URL (`/policy/{policy_id}`), never a path traversal,
 * a query or a fragment.
 */
export const HOSTILE_POLICY_IDS: readonly string[] = [
  '../x',
  'a/../../b',
  '../../../etc/passwd',
  'q?x=1&y=2',
  'frag#x',
  '%2F',
  'a%2Fb',
  '%2e%2e',
  'sp ace',
  ' lead-and-trail ',
  'new\nline',
  'cr\r\nlf',
  'tab\tx',
  '%',
  '100%',
  'ü/ß',
  'nul\u0000byte',
  'a+b=c',
  'semi;colon,comma',
  `"quote'`,
  '<script>alert(1)</script>',
  '\\back\\slash',
  '🚦',
  "'; DROP TABLE policy_execution_state; --",
];
