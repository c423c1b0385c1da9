/**
 * The project CLI run in-process, its console output captured: exit code and output lines (an
 * uncaught error counts as exit code 1, its message as output).
 */
import { vi } from 'vitest';
import { main as cli } from '../../src/cli';

export async function runCli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const capture = (...a: unknown[]) => void lines.push(a.join(' '));
  const log = vi.spyOn(console, 'log').mockImplementation(capture);
  const err = vi.spyOn(console, 'error').mockImplementation(capture);
  try {
    const code = await cli(args).catch((e: unknown) => {
      lines.push(e instanceof Error ? e.message : String(e));
      return 1;
    });
    return { code, out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}
