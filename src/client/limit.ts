/** A concurrency limit: at most `n` calls in flight at once; the others wait their turn, in order. */
export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

export function createLimit(n: number): Limit {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`concurrency must be a whole number >= 1, got ${n}`);
  let active = 0;
  const queue: (() => void)[] = [];
  // A finished call hands its slot straight to the next in line, so no newcomer can slip in between.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active -= 1;
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < n) active += 1;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
