// Covers shared/runtime/logger.ts and the local runtime's Lambda context: Powertools' Logger writing pino-shaped JSON lines (what the error-log metric filter, the bench and the tests read), credentials redacted, and each invocation's request id on its own lines.
import { describe, expect, it } from 'vitest';
import { createLogger } from '#shared/runtime/logger.ts';
import { localHandler } from '#shared/runtime/local.ts';

function capture(level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger(level, 'test', { write: (line) => void lines.push(line) });
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, entries };
}

describe('createLogger', () => {
  it("writes one JSON line per call in pino's shape: numeric level, time, name, the fields, msg", () => {
    const { logger, lines, entries } = capture();
    const before = Date.now();
    logger.info({ webhook_id: 'w1' }, 'webhook delivered');
    logger.warn('plain message');
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    const [info, warn] = entries();
    expect(info).toEqual({
      level: 30,
      time: expect.any(Number),
      name: 'test',
      webhook_id: 'w1',
      msg: 'webhook delivered',
    });
    expect(info!.time).toBeGreaterThanOrEqual(before);
    expect(warn).toMatchObject({ level: 40, msg: 'plain message' });
  });

  it('writes errors as type, message and stack, and describes a line without a message by its error', () => {
    const { logger, entries } = capture();
    logger.error({ err: new TypeError('boom') });
    const [line] = entries();
    expect(line).toMatchObject({
      level: 50,
      msg: 'boom',
      err: { type: 'TypeError', message: 'boom', stack: expect.stringContaining('TypeError: boom') },
    });
  });

  it('keeps fields that are null or empty, and the error an error wraps', () => {
    const { logger, entries } = capture();
    logger.info({ http_status: null, error: null, note: '' }, 'attempt');
    logger.error({ err: new Error('cannot start', { cause: new RangeError('port taken') }) }, 'boot failed');
    const [attempt, boot] = entries();
    expect(attempt).toEqual({
      level: 30,
      time: expect.any(Number),
      name: 'test',
      http_status: null,
      error: null,
      note: '',
      msg: 'attempt',
    });
    expect(boot).toMatchObject({
      err: { message: 'cannot start', cause: { type: 'RangeError', message: 'port taken' } },
    });
  });

  it('redacts credentials at the top of the fields and in headers', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        authorization: 'Bearer k',
        api_key: 'k',
        token: 't',
        hmac_key: 'h',
        privateKeyPem: 'p',
        headers: { authorization: 'Bearer k', host: 'x' },
      },
      'request',
    );
    const text = lines.join('');
    for (const secret of ['Bearer k', '"k"', '"t"', '"h"', '"p"']) expect(text).not.toContain(secret);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      authorization: '[redacted]',
      headers: { authorization: '[redacted]', host: 'x' },
    });
  });

  it('writes nothing below its level, and nothing at all when silent', () => {
    const warn = capture('warn');
    warn.logger.info('hidden');
    warn.logger.error('shown');
    expect(warn.entries().map((e) => e.msg)).toEqual(['shown']);
    const silent = capture('silent');
    silent.logger.error('hidden');
    expect(silent.lines).toEqual([]);
  });
});

describe('localHandler', () => {
  it('gives each invocation a request id of its own, on every line it logs, even when invocations overlap', async () => {
    const { logger, entries } = capture();
    const handler = localHandler(
      'api',
      async (event: { n: number }) => {
        logger.info({ n: event.n }, 'start');
        await new Promise((resolve) => setImmediate(resolve));
        logger.info({ n: event.n }, 'end');
        return event.n;
      },
      logger,
    );
    expect(await Promise.all([handler({ n: 1 }), handler({ n: 2 })])).toEqual([1, 2]);
    const byInvocation = new Map<unknown, Set<unknown>>();
    for (const entry of entries()) {
      expect(entry).toMatchObject({ function_name: 'api', function_request_id: expect.any(String) });
      byInvocation.set(entry.n, (byInvocation.get(entry.n) ?? new Set()).add(entry.function_request_id));
    }
    expect([...byInvocation.values()].map((ids) => ids.size)).toEqual([1, 1]);
    expect(byInvocation.get(1)).not.toEqual(byInvocation.get(2));
    logger.info('between invocations');
    expect(entries().at(-1)).not.toHaveProperty('function_request_id');
  });
});
