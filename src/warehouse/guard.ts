/**
 * The write guard in SQL, for every warehouse adapter: the `supersedes` rule of src/policy/state.ts
 * (runs first, version second) as a predicate on an incoming row and the stored row of the same
 * execution_id, given their table aliases (DuckDB: `excluded` and the table; Snowflake: the MERGE's
 * source and target).
 */
export function supersedesSql(incoming: string, stored: string): string {
  const sameRun = `(${incoming}.run_id IS NULL OR ${stored}.run_id IS NULL OR ${incoming}.run_id = ${stored}.run_id)`;
  return (
    `((${sameRun} AND ${incoming}.state_version > ${stored}.state_version)` +
    ` OR (${incoming}.run_id <> ${stored}.run_id AND ${incoming}.updated_at > ${stored}.updated_at))`
  );
}
