/** Reading the CLI's `publish --file`: kept apart from bin/cli.ts, which runs on import, so it can be unit-tested. */

/** A JSON array of events, or one event per line (JSON lines; blank lines skipped). Throws a message fit for the user. */
export function parseEventsFile(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('the events file is empty');
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new Error('the events file is not a valid JSON array');
    }
    if (!Array.isArray(parsed)) throw new Error('the events file is not a valid JSON array');
    if (parsed.length === 0) throw new Error('the events file is empty');
    return parsed;
  }
  return text.split('\n').flatMap((line, n) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch {
      throw new Error(`line ${n + 1} of the events file is not valid JSON`);
    }
  });
}
