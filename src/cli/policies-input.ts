/**
 * `start --policies PATH`: read the inputs of a bulk start and check every one before anything
 * starts. PATH is a JSON Lines file (one JSON value a line; blank lines skipped) or a directory of
 * `*.json` files (one JSON value each, in name order). Each value is a bare policy object or a
 * wrapper `{"id"?, "policy", "options"?}`. Every problem is reported as `file:line: why`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bulkInputFrom, prepareBulk, type BulkInput } from '../client';
import type { ExecutionOptionsInput } from '../policy';
import { UsageError } from './common';

/** Problems listed before the rest are summed up. */
const MAX_LISTED = 20;

export interface LocatedInput {
  input: BulkInput;
  /** `file:line` (JSON Lines) or the file (directory). */
  where: string;
}

/** The inputs were read but some are bad: every problem, with where it is. */
export class PoliciesInputError extends Error {
  constructor(readonly problems: string[]) {
    const listed = problems.slice(0, MAX_LISTED);
    const more = problems.length - listed.length;
    super(
      `${problems.length} bad input${problems.length === 1 ? '' : 's'}; nothing was started:\n` +
        listed.map((p) => `  ${p}`).join('\n') +
        (more > 0 ? `\n  ... and ${more} more` : ''),
    );
    this.name = 'PoliciesInputError';
  }
}

interface RawValue {
  text: string;
  where: string;
}

function rawValues(source: string): RawValue[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (err) {
    throw new UsageError(`cannot read --policies '${source}': ${(err as Error).message}`);
  }
  if (stat.isDirectory()) {
    const files = fs
      .readdirSync(source)
      .filter((name) => name.endsWith('.json'))
      .sort();
    return files.map((name) => {
      const file = path.join(source, name);
      return { text: fs.readFileSync(file, 'utf8'), where: file };
    });
  }
  const values: RawValue[] = [];
  fs.readFileSync(source, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() !== '') values.push({ text: line, where: `${source}:${i + 1}` });
    });
  return values;
}

/**
 * Read and check every input of `source` with the common options and id prefix of the run. Throws
 * PoliciesInputError listing every bad input, or UsageError when there is nothing to read.
 */
export function readPolicies(
  source: string,
  common: { options: ExecutionOptionsInput; idPrefix?: string },
): LocatedInput[] {
  // Problems keyed by the input's position, so they are listed in file order.
  const problems: { at: number; text: string }[] = [];
  const located: (LocatedInput & { at: number })[] = [];
  rawValues(source).forEach((raw, at) => {
    let value: unknown;
    try {
      value = JSON.parse(raw.text);
    } catch (err) {
      problems.push({ at, text: `${raw.where}: not valid JSON: ${(err as Error).message}` });
      return;
    }
    const parsed = bulkInputFrom(value);
    if (parsed.ok) located.push({ input: parsed.input, where: raw.where, at });
    else problems.push({ at, text: `${raw.where}: ${parsed.message}` });
  });
  if (problems.length === 0 && located.length === 0)
    throw new UsageError(`no policies in '${source}' (a JSON Lines file, or a directory of *.json files)`);
  const prepared = prepareBulk(
    located.map((l) => l.input),
    common,
  );
  if (!prepared.ok) {
    for (const p of prepared.problems) {
      const input = located[p.index];
      const first = p.duplicateOf === undefined ? '' : ` (first at ${located[p.duplicateOf]?.where})`;
      problems.push({ at: input?.at ?? 0, text: `${input?.where}: ${p.message}${first}` });
    }
  }
  if (problems.length > 0)
    throw new PoliciesInputError(problems.sort((a, b) => a.at - b.at).map((p) => p.text));
  return located.map(({ input, where }) => ({ input, where }));
}
