// Covers bin/events-file.ts: the events file of `npm run cli -- publish --file`, as a JSON array or as JSON lines.
import { describe, expect, it } from 'vitest';
import { parseEventsFile } from '../../bin/events-file.ts';

describe('parseEventsFile', () => {
  it('reads a JSON array', () => {
    expect(parseEventsFile(' [{"a":1},{"b":2}]\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('reads JSON lines, skipping blank lines (and Windows line ends)', () => {
    expect(parseEventsFile('{"a":1}\r\n\n  \n{"b":2}\n')).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('says which line is not JSON, and refuses an empty file', () => {
    expect(() => parseEventsFile('{"a":1}\n{oops\n')).toThrow('line 2 of the events file is not valid JSON');
    expect(() => parseEventsFile('[{"a":1},')).toThrow('the events file is not a valid JSON array');
    expect(() => parseEventsFile('\n \n')).toThrow('the events file is empty');
    expect(() => parseEventsFile('[]')).toThrow('the events file is empty');
  });
});
