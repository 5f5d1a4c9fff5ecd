// Covers the console's static file handler: the redirect, content types, caching, binary files, paths out of the folder, frame-ancestors, and a missing build.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_SECURITY_HEADERS, createConsoleHandler } from '#shared/runtime/console-assets.ts';
import type { HttpEvent } from '#shared/runtime/http.ts';

const get = (rawPath: string) =>
  ({
    version: '2.0',
    routeKey: 'GET /console/{proxy+}',
    rawPath,
    headers: {},
    requestContext: { requestId: 'r1' },
  }) as unknown as HttpEvent;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-assets-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><div id="app"></div>');
  await writeFile(join(dir, 'dist', 'assets', 'index-abc.js'), 'console.log(1)');
  await writeFile(join(dir, 'dist', 'assets', 'logo-abc.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]));
  await writeFile(join(dir, 'secret.txt'), 'outside the console');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('console assets', () => {
  it('redirects /console to /console/ and serves index.html there, revalidated, with the security headers', async () => {
    const handler = createConsoleHandler(join(dir, 'dist'));
    expect(await handler(get('/console'))).toMatchObject({ statusCode: 301, headers: { location: '/console/' } });
    const page = await handler(get('/console/'));
    expect(page).toMatchObject({
      statusCode: 200,
      body: '<!doctype html><div id="app"></div>',
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...CONSOLE_SECURITY_HEADERS },
    });
  });

  it('serves hashed assets as immutable, and binary files base64-encoded', async () => {
    const handler = createConsoleHandler(join(dir, 'dist'));
    expect(await handler(get('/console/assets/index-abc.js'))).toMatchObject({
      statusCode: 200,
      body: 'console.log(1)',
      headers: {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'public, max-age=31536000, immutable',
      },
    });
    const png = await handler(get('/console/assets/logo-abc.png'));
    expect(png).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'image/png' } });
    expect(Buffer.from(png.body!, 'base64')).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]));
  });

  it('answers 404 for unknown files and anything outside its folder, with the security headers', async () => {
    const handler = createConsoleHandler(join(dir, 'dist'));
    for (const path of [
      '/console/missing.js',
      '/console/assets',
      '/console/..%2fsecret.txt',
      '/console/%2e%2e/secret.txt',
      '/console/assets/..%2f..%2fsecret.txt',
      '/elsewhere',
    ]) {
      const result = await handler(get(path));
      expect(result.statusCode, path).toBe(404);
      expect(result.headers).toMatchObject(CONSOLE_SECURITY_HEADERS);
    }
    expect((await handler(get('/console/%E0%A4%A'))).statusCode).toBe(400);
  });

  it('lets the origins CONSOLE_FRAME_ANCESTORS names frame it, and drops X-Frame-Options then', async () => {
    const handler = createConsoleHandler(join(dir, 'dist'), "'self' https://app.example.com");
    const { headers = {} } = await handler(get('/console/'));
    expect(headers['content-security-policy']).toBe(
      CONSOLE_SECURITY_HEADERS['content-security-policy']!.replace(
        "frame-ancestors 'none'",
        "frame-ancestors 'self' https://app.example.com",
      ),
    );
    expect(headers).not.toHaveProperty('x-frame-options');
    expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  });

  it('says how to build the console when it is not built', async () => {
    const handler = createConsoleHandler(join(dir, 'not-built'));
    const result = await handler(get('/console/'));
    expect(result.statusCode).toBe(503);
    expect(result.body).toContain('npm run build:console');
  });
});
