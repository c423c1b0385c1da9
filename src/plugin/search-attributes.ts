/**
 * The search attributes the policyExecution workflow sets, the commands that register them, and a
 * check at worker start: a namespace without them fails every execution's workflow task, so the
 * worker says so, with the commands, before the first one does.
 */
import type { ConnectionLike } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../contracts';

/** Every search attribute the workflow sets, with its type. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, 'Keyword'>> = Object.fromEntries(
  Object.values(SEARCH_ATTRIBUTE_NAMES).map((name) => [name, 'Keyword' as const]),
);

/** `temporal operator search-attribute create` for each of `names` (default: all of them). */
export function searchAttributeCommands(namespace: string, names = Object.keys(SEARCH_ATTRIBUTES)): string[] {
  return names.map(
    (name) =>
      `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${SEARCH_ATTRIBUTES[name]}`,
  );
}

/**
 * The search attributes `namespace` lacks; null when the server would not say (e.g. a role without
 * operator rights): that is not a reason to stop a worker.
 */
export async function missingSearchAttributes(
  connection: Pick<ConnectionLike, 'operatorService'>,
  namespace: string,
): Promise<string[] | null> {
  try {
    const response = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set([
      ...Object.keys(response.customAttributes ?? {}),
      ...Object.keys(response.systemAttributes ?? {}),
    ]);
    return Object.keys(SEARCH_ATTRIBUTES).filter((name) => !known.has(name));
  } catch {
    return null;
  }
}
