/**
 * What a DuckDB database file looks like from outside: enough to tell that no process has written
 * it since the last look, without opening it (an open and a close cost ~10x a query). A commit
 * appends to the file's write-ahead log (`<file>.wal`) and a checkpoint rewrites the file and
 * removes the log, so each changes a size, a time or the log's existence.
 */
import fs from 'node:fs';

function markOf(file: string): string {
  try {
    const s = fs.statSync(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '-';
    throw err;
  }
}

/** The file's and its write-ahead log's identity, size and modification times, as one string. */
export function fileMark(file: string): string {
  return `${markOf(file)}|${markOf(`${file}.wal`)}`;
}
