// Covers the web console at /console/: how it is served (redirect, assets, security headers), then Debian's Chromium driving it
// as an organization would: sign in, keys and their rotation, adding/editing/deleting endpoints, focus and titles on navigation,
// deliveries, filters, the detail panel in Lago's labels, retry (of a failed and of a retrying webhook), resend, recover,
// replay, test events and their rate limit, responses of outdated requests left unapplied, and another organization seeing
// none of it. Screenshots of each page at 1280×800 and 390×844 go to screenshots/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import {
  chromium,
  type BrowserContext,
  type Locator,
  type Page,
  type Request,
  type Response as PageResponse,
} from 'playwright-core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION } from '#infra/local/emulators.ts';
import { endpointKey } from '#shared/adapters/dynamodb/keys.ts';
import {
  checkResponse,
  createEndpoint,
  createOrg,
  publish,
  request,
  stack,
  webhookSettles,
  type Org,
} from './helpers.ts';
import { eventually } from '../support/eventually.ts';
import { Receiver } from '../support/receiver.ts';
import { withinOneWindow } from '../support/windows.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../screenshots/', import.meta.url));
const SIZES = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

describe('the console is served at /console/', () => {
  it('redirects /console to /console/ and serves the page with its security headers', async () => {
    const bare = await fetch(`${stack().url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
    const page = await request('GET', '/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<div id="app">');
    // No inline script: the only script is a bundled file of this origin.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "default-src 'none'"])
      expect(csp).toContain(directive);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it('serves the bundled assets for a year, and 404s unknown paths and paths out of the console', async () => {
    const page = await request('GET', '/console/');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)![1]!;
    const asset = await request('GET', script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await request('GET', '/console/assets/missing.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await request('GET', '/console/..%2fpackage.json')).status).toBe(404);
    expect((await request('GET', '/console/..%2f..%2fpackage.json')).status).toBe(404);
  });
});

describe('the console in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let org: Org;
  let other: Org;
  const healthy = new Receiver();
  const failing = new Receiver((_req, res) => res.writeHead(500).end('receiver is down'));
  let healthyId: string;
  let failingId: string;
  let failedWebhookId: string;
  const contractChecks: Promise<void>[] = [];
  const contractProblems: string[] = [];
  /**
   * Responses whose body could not be read. That is a problem unless nobody could read it: the console cancelled
   * the request (it was out of date), or the test loaded another page before the body was fetched from the browser.
   */
  const unread: { response: PageResponse; error: string }[] = [];

  const consoleUrl = () => `${stack().url}/console/`;

  /** A screenshot of what the browser shows, at both sizes. */
  async function shoot(name: string, fullPage = true) {
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size.width}x${size.height}.png`), fullPage });
    }
    await page.setViewportSize(SIZES[0]);
  }

  async function signIn(key: string) {
    await page.getByLabel('Organization API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Clicks Refresh until `row` shows: deliveries happen in the background. */
  async function refreshUntil(row: Locator, timeoutMs = 20_000) {
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        await page.getByRole('status').filter({ hasText: /shown/ }).waitFor({ timeout: 2_000 });
        return (await row.count()) > 0 ? true : undefined;
      },
      timeoutMs,
      'the delivery row',
    );
  }

  /** A time as the console shows it (UTC, to the second). */
  const shownTime = (iso: string) => `${iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} UTC`;
  const hmacKey = async () =>
    (
      await request<{ webhook: { hmac_key: string; previous_hmac_key?: string; previous_expires_at?: string } }>(
        'GET',
        '/api/v1/webhooks/hmac_key',
        { token: org.apiKey },
      )
    ).body.webhook;

  /** The element with the keyboard focus, as a user would name it. */
  const focused = () =>
    page.evaluate<{ tag?: string; text?: string }>(
      '({ tag: document.activeElement?.tagName.toLowerCase(), text: document.activeElement?.textContent?.trim() })',
    );
  /** Waits until `target` has the focus (the console moves it once the view has rendered). */
  const hasFocus = (target: Locator) => target.and(page.locator(':focus')).waitFor();
  /** Waits for the browser tab's title, set once the view has rendered (after any focus move of that render). */
  const titled = (title: string) =>
    eventually(async () => ((await page.title()) === title ? true : undefined), 10_000, `the title "${title}"`);

  /** The value shown for a label of the detail panel's facts. */
  const fact = (panel: Locator, label: string) => panel.locator(`dt:text-is("${label}") + dd`);

  const endpointRow = (name: string) =>
    page.getByRole('listitem').filter({ has: page.getByRole('link', { name: new RegExp(`^${name}\\b`) }) });
  const details = () => page.getByRole('dialog', { name: 'Webhook details' });

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    userDataDir = await mkdtemp(join(tmpdir(), 'lago-console-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
      viewport: SIZES[0],
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack().url });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    // Every API response the console receives is checked against the OpenAPI document (the last test reads the outcome).
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (!url.pathname.startsWith('/api/')) return;
      contractChecks.push(
        response
          .text()
          .then(
            (text) =>
              checkResponse(
                response.request().method(),
                `${url.pathname}${url.search}`,
                response.status(),
                response.headers()['content-type'] ?? null,
                text,
              ),
            (error: unknown) => void unread.push({ response, error: String(error) }),
          )
          .catch((error: unknown) => void contractProblems.push(String(error))),
      );
    });
    [org, other] = await Promise.all([createOrg('Console'), createOrg('Other')]);
    await Promise.all([healthy.start(), failing.start()]);
  });

  afterAll(async () => {
    await context?.close();
    await Promise.all([healthy.stop(), failing.stop()]);
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it('signs in with the organization API key, refusing a wrong one, and keeps the key out of the URL and localStorage', async () => {
    await page.goto(consoleUrl());
    await titled('Sign in · Lago console');
    await shoot('sign-in');
    await signIn('not-a-valid-key');
    await page.getByRole('alert').filter({ hasText: 'This organization API key was not accepted' }).waitFor();
    // With the keyboard alone: the key field is the first stop, Enter signs in.
    await page.reload();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('api-key');
    await page.keyboard.type(org.apiKey);
    await page.keyboard.press('Enter');
    // The sign-in form is gone: the focus moves to the heading of the view that replaced it.
    await hasFocus(page.getByRole('heading', { name: 'Webhooks', level: 1, exact: true }));
    await titled('Webhooks · Lago console');
    expect(page.url()).not.toContain(org.apiKey);
    expect(await page.evaluate(() => [sessionStorage.getItem('lago-console-api-key'), localStorage.length])).toEqual([
      org.apiKey,
      0,
    ]);
    await page.getByText('No webhook yet').waitFor();
  });

  it('shows the HMAC token masked until Reveal, and the JWT public key, both as the API returns them', async () => {
    const hmac = await request<{ webhook: { hmac_key: string } }>('GET', '/api/v1/webhooks/hmac_key', {
      token: org.apiKey,
    });
    const jwt = await request<{ webhook: { public_key: string } }>('GET', '/api/v1/webhooks/json_public_key', {
      token: org.apiKey,
    });
    const token = page.getByTestId('hmac-token');
    await token.waitFor();
    expect(await token.textContent()).not.toContain(hmac.body.webhook.hmac_key);
    await page.getByRole('button', { name: 'Reveal' }).click();
    expect(await token.textContent()).toBe(hmac.body.webhook.hmac_key);
    await page.getByRole('button', { name: 'Hide' }).waitFor();
    const jwtSection = page.getByRole('region', { name: 'JWT public key' });
    expect(await jwtSection.locator('pre').textContent()).toBe(jwt.body.webhook.public_key);
    await jwtSection.getByRole('button', { name: 'Copy' }).click();
    await jwtSection.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(jwt.body.webhook.public_key);
  });

  it('rotates the HMAC token after a confirmation that states the overlap, showing the new token and until when the previous one still signs', async () => {
    const before = (await hmacKey()).hmac_key;
    const card = page.getByRole('region', { name: 'HMAC signature token' });
    await card.getByRole('button', { name: 'Rotate' }).click();
    const confirm = page.getByRole('dialog', { name: 'Rotate HMAC token' });
    await confirm.getByText('X-Lago-Signature switches to a new token at once').waitFor();
    // The overlap is stated in plain words: 24 hours unless the user picks another.
    expect(await confirm.getByLabel('Keep the previous token valid for').inputValue()).toBe(String(24 * 3600));
    await confirm.getByText('The previous token stays valid for 24 hours.').waitFor();
    await shoot('rotate-confirmation', false);
    // Cancel changes nothing.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await hmacKey()).hmac_key).toBe(before);

    await card.getByRole('button', { name: 'Rotate' }).click();
    await confirm.getByLabel('Keep the previous token valid for').selectOption({ label: '1 hour' });
    await confirm.getByText('The previous token stays valid for 1 hour.').waitFor();
    const rotatedFrom = Date.now();
    await confirm.getByRole('button', { name: 'Rotate token' }).click();
    await confirm.waitFor({ state: 'detached' });
    const rotatedBy = Date.now();
    await card.getByRole('status').filter({ hasText: 'New token created. X-Lago-Signature now uses it.' }).waitFor();
    const after = await hmacKey();
    expect(after.hmac_key).not.toBe(before);
    expect(after.previous_hmac_key).toBe(before);
    // What the dialog said is what the server did: the previous token expires an hour after the rotation.
    const expires = Date.parse(after.previous_expires_at!);
    expect(expires).toBeGreaterThanOrEqual(rotatedFrom + 3600_000 - 1_000);
    expect(expires).toBeLessThanOrEqual(rotatedBy + 3600_000 + 1_000);
    expect(await page.getByTestId('hmac-token').textContent()).toBe(after.hmac_key);
    expect(await card.getByTestId('previous-expiry').textContent()).toContain(
      `until ${shownTime(after.previous_expires_at!)}`,
    );
    await shoot('rotated', false);

    // Rotating again during the overlap ends the oldest token at once: the dialog says so, with its expiry.
    await card.getByRole('button', { name: 'Rotate' }).click();
    await confirm
      .getByText(
        `The token before the current one, still valid until ${shownTime(after.previous_expires_at!)}, stops working now.`,
      )
      .waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await hmacKey()).hmac_key).toBe(after.hmac_key);
  });

  it("adds an HMAC endpoint from the form, showing the server's validation errors next to their field", async () => {
    await page.getByRole('button', { name: 'Add a webhook' }).click();
    const form = page.getByRole('dialog', { name: 'Add a webhook' });
    await form.getByLabel('Webhook URL').fill('not a url');
    await form.getByRole('button', { name: 'Add webhook' }).click();
    await form.getByText('url_is_invalid').waitFor();
    expect(await form.getByLabel('Webhook URL').getAttribute('aria-invalid')).toBe('true');
    await form.getByLabel('Webhook URL').fill(healthy.url);
    await form.getByText('url_is_invalid').waitFor({ state: 'detached' });
    await form.getByLabel('Name').fill('Billing');
    await form.getByRole('radio', { name: 'HMAC' }).check();
    await form.getByRole('checkbox', { name: 'Listen to all events' }).uncheck();
    await form.getByLabel('Search events').fill('invoice.cre');
    await form.getByRole('checkbox', { name: /^invoice\.created\b/ }).check();
    expect(await form.getByRole('checkbox').count()).toBe(2);
    await form.getByLabel('Search events').fill('');
    expect(await form.getByRole('group', { name: 'subscription' }).getByRole('checkbox').count()).toBeGreaterThan(5);
    await shoot('add-webhook', false);
    await form.getByRole('button', { name: 'Add webhook' }).click();
    await form.waitFor({ state: 'detached' });
    await endpointRow('Billing').getByText('Listening to 1 event').waitFor();

    // The same URL again is refused, next to the URL field.
    await page.getByRole('button', { name: 'Add a webhook' }).click();
    await form.getByLabel('Webhook URL').fill(healthy.url);
    await form.getByRole('button', { name: 'Add webhook' }).click();
    await form.getByText('value_already_exist').waitFor();
    await form.getByRole('button', { name: 'Cancel' }).click();

    const listed = await request<{
      webhook_endpoints: { lago_id: string; name: string; signature_algo: string; event_types: string[] | null }[];
    }>('GET', '/api/v1/webhook_endpoints', { token: org.apiKey });
    expect(listed.body.webhook_endpoints).toHaveLength(1);
    expect(listed.body.webhook_endpoints[0]).toMatchObject({
      name: 'Billing',
      signature_algo: 'hmac',
      event_types: ['invoice.created'],
    });
    healthyId = listed.body.webhook_endpoints[0]!.lago_id;
  });

  it('edits an endpoint to listen to all events', async () => {
    await endpointRow('Billing').getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('dialog', { name: 'Edit webhook' });
    expect(await form.getByLabel('Webhook URL').inputValue()).toBe(healthy.url);
    await form.getByRole('checkbox', { name: 'Listen to all events' }).check();
    await form.getByRole('button', { name: 'Save webhook' }).click();
    await form.waitFor({ state: 'detached' });
    await endpointRow('Billing').getByText('Listening to all events').waitFor();
  });

  it("moves the focus to each new view's heading and titles the browser tab after it", async () => {
    await page.getByRole('link', { name: /^Billing\b/ }).click();
    await hasFocus(page.getByRole('heading', { name: 'Billing', level: 1 }));
    await titled('Billing · Webhooks · Lago console');
    // A tab is not a new view: as in the WAI-ARIA tabs pattern, the focus stays on the tab; the title follows it.
    await page.getByRole('tab', { name: 'Deliveries' }).focus();
    await page.keyboard.press('Enter');
    await titled('Deliveries · Billing · Webhooks · Lago console');
    await page.getByRole('tabpanel', { name: 'Deliveries' }).waitFor();
    expect(await focused()).toEqual({ tag: 'button', text: 'Deliveries' });
    await page.keyboard.press('ArrowLeft');
    await titled('Billing · Webhooks · Lago console');
    await page.getByRole('tabpanel', { name: 'Overview' }).waitFor();
    expect(await focused()).toEqual({ tag: 'button', text: 'Overview' });
    await page.getByRole('link', { name: '← Webhooks' }).click();
    await hasFocus(page.getByRole('heading', { name: 'Webhooks', level: 1, exact: true }));
    await titled('Webhooks · Lago console');
    // Opening the console on a view leaves the focus where the browser puts it, at the top of the page.
    await page.goto(`${consoleUrl()}#/endpoints/${healthyId}`);
    await page.reload();
    await titled('Billing · Webhooks · Lago console');
    expect(await focused()).toEqual({ tag: 'body', text: expect.any(String) });
    await page.getByRole('link', { name: '← Webhooks' }).click();
    await endpointRow('Billing').waitFor();
  });

  it('lists a published webhook as succeeded after Refresh, and shows its payload in the detail panel', async () => {
    failingId = await createEndpoint(org, { webhook_url: failing.url, name: 'Flaky', signature_algo: 'hmac' });
    const published = await publish(org, 'invoice.created', { lago_id: 'inv_console_1', number: 'CONSOLE-001' });
    expect(published.status).toBe(202);
    failedWebhookId = published.body.webhooks.find((w) => w.lago_webhook_endpoint_id === failingId)!.lago_id;
    await healthy.waitFor(1);

    await page.reload();
    await page.getByRole('link', { name: /^Billing\b/ }).click();
    const overview = page.getByRole('tabpanel', { name: 'Overview' });
    await overview.getByText(healthy.url).waitFor();
    await overview.getByText('HMAC').waitFor();
    await shoot('endpoint-overview');
    await page.getByRole('tab', { name: 'Deliveries' }).click();
    const row = page.getByRole('button', { name: /^succeeded invoice\.created Response 200/ });
    await refreshUntil(row);
    await page.getByText('Last 1 deliveries: 1 succeeded').waitFor();
    await shoot('deliveries');

    await row.focus();
    await page.keyboard.press('Enter');
    const panel = details();
    await panel.getByText('inv_console_1').waitFor();
    const payload = JSON.parse((await panel.getByLabel('Payload').textContent())!) as {
      invoice: { lago_id: string; number: string };
    };
    expect(payload.invoice).toMatchObject({ lago_id: 'inv_console_1', number: 'CONSOLE-001' });
    await panel.getByRole('cell', { name: '200', exact: true }).waitFor();
    // Lago's own labels, from its guide to the webhook logs.
    expect(await panel.locator('dt').allTextContents()).toEqual([
      'Webhook type',
      'Status',
      'Unique key',
      'Timestamp',
      'Webhook URL',
      'Response',
      'Number of retries',
    ]);
    const openedId = new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('webhook');
    const shown = (
      await request<{ webhook: { created_at: string; unique_key: string } }>('GET', `/api/v1/webhooks/${openedId}`, {
        token: org.apiKey,
      })
    ).body.webhook;
    expect(await fact(panel, 'Timestamp').textContent()).toBe(shownTime(shown.created_at));
    expect(await fact(panel, 'Unique key').textContent()).toBe(shown.unique_key);
    expect(await fact(panel, 'Response').textContent()).toBe('200');
    expect(await fact(panel, 'Number of retries').textContent()).toBe('0');
    expect(await panel.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await shoot('detail', false);

    // Resend a succeeded webhook: a second attempt in the panel, and the receiver gets it again under the same unique key.
    await panel.getByRole('button', { name: 'Resend' }).click();
    await panel
      .getByRole('status')
      .filter({ hasText: 'Resent: a new round of attempts under the same unique key.' })
      .waitFor();
    await eventually(
      async () => ((await panel.getByRole('cell', { name: '200', exact: true }).count()) === 2 ? true : undefined),
      20_000,
      'the second attempt in the panel',
    );
    const [first, again] = await healthy.waitFor(2);
    expect(again!.headers['x-lago-unique-key']).toBe(first!.headers['x-lago-unique-key']);
    expect(again!.body).toBe(first!.body);
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
  });

  it('shows a failed webhook with its attempts and error, filters by status in the URL, and retries it to success', async () => {
    await webhookSettles(org, failedWebhookId, ['failed']);
    await page.goto(`${consoleUrl()}#/endpoints/${failingId}/deliveries`);
    const failedRow = page.getByRole('button', { name: /^failed invoice\.created Response 500/ });
    await refreshUntil(failedRow);
    await page.getByText('Last 1 deliveries: 1 failed').waitFor();

    // A filter is part of the URL, so the filtered view survives a reload (a bookmark).
    await page.getByLabel('Status', { exact: true }).selectOption('succeeded');
    await page.getByText('No webhook matches.').waitFor();
    expect(page.url()).toContain('status=succeeded');
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await failedRow.waitFor();
    await page.reload();
    expect(await page.getByLabel('Status', { exact: true }).inputValue()).toBe('failed');
    await failedRow.waitFor();
    await page.getByLabel('HTTP status').selectOption('5xx');
    await failedRow.waitFor();
    await page.getByLabel('HTTP status').selectOption('2xx');
    await page.getByText('No webhook matches.').waitFor();
    await page.getByLabel('HTTP status').selectOption('');
    await page.getByLabel('Event type').selectOption('customer.created');
    await page.getByText('No webhook matches.').waitFor();
    await page.getByLabel('Event type').selectOption('invoice.created');
    await failedRow.waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Search').fill(failedWebhookId);
    await page.keyboard.press('Enter');
    await failedRow.waitFor();
    expect(page.url()).toContain(`q=${failedWebhookId}`);

    await failedRow.click();
    const panel = details();
    await panel.getByRole('heading', { name: 'Error response' }).waitFor();
    await panel.getByText('receiver is down').waitFor();
    expect(await panel.getByRole('row').filter({ hasText: '500' }).count()).toBe(4);
    expect(await fact(panel, 'Response').textContent()).toBe('500');
    expect(await fact(panel, 'Number of retries').textContent()).toBe('3');
    await shoot('detail-failed', false);

    failing.reply = (_req, res) => res.writeHead(200).end('ok');
    await panel.getByRole('button', { name: 'Retry' }).click();
    // The panel follows the webhook until it settles.
    await panel.locator('.status', { hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    expect((await webhookSettles(org, failedWebhookId, ['succeeded'])).status).toBe('succeeded');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: /^succeeded invoice\.created Response 200/ }).waitFor();
  });

  it('recovers the failed webhooks of a window and says how many', async () => {
    failing.reply = (_req, res) => res.writeHead(503).end('down again');
    const published = await publish(org, 'customer.created', { lago_id: 'cus_console_1' });
    const id = published.body.webhooks.find((w) => w.lago_webhook_endpoint_id === failingId)!.lago_id;
    await webhookSettles(org, id, ['failed']);
    failing.reply = (_req, res) => res.writeHead(200).end('ok');
    await page.getByRole('button', { name: 'Recover' }).click();
    await page.getByRole('status').filter({ hasText: '1 failed webhook queued again.' }).waitFor();
    expect((await webhookSettles(org, id, ['succeeded'])).status).toBe('succeeded');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await refreshUntil(page.getByRole('button', { name: /^succeeded customer\.created Response 200/ }));
    await page.getByText('Last 2 deliveries: 2 succeeded').waitFor();
    await shoot('deliveries-after-recovery');
  });

  /**
   * Holds the console's requests that `matches` until `release()`: a slow answer, which comes back only after the
   * user has moved on. `release()` resolves with the held request's failure, once the browser has cancelled or finished it.
   */
  async function holdRequests(matches: (url: URL) => boolean) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held: Request | undefined;
    const matcher = (url: URL) => url.pathname.startsWith('/api/') && matches(url);
    await page.route(matcher, async (route) => {
      held = route.request();
      await released;
      // The console may have cancelled it meanwhile: then there is nothing left to answer.
      await route.continue().catch(() => undefined);
    });
    const outcome = new Promise<string | null>((resolve) => {
      const settle = (request: Request) => {
        if (request !== held) return;
        page.off('requestfailed', settle).off('requestfinished', settle);
        resolve(request.failure()?.errorText ?? null);
      };
      page.on('requestfailed', settle).on('requestfinished', settle);
    });
    return {
      held: () => eventually(async () => held, 10_000, 'the held request'),
      release: async () => {
        release();
        const failure = await outcome;
        await page.unroute(matcher);
        return failure;
      },
    };
  }

  it('never shows the answer of an outdated request: a filter changed, a view left', async () => {
    // Flaky's two webhooks both succeeded in the end: "failed" lists none, "succeeded" both.
    await page.goto(`${consoleUrl()}#/endpoints/${failingId}/deliveries`);
    await page
      .getByRole('status')
      .filter({ hasText: /^2 webhooks shown$/ })
      .waitFor();
    const slowFailed = await holdRequests((url) => url.searchParams.getAll('statuses[]').includes('failed'));
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await slowFailed.held();
    await page.getByRole('status').filter({ hasText: 'Loading…' }).waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('succeeded');
    await page
      .getByRole('status')
      .filter({ hasText: /^2 webhooks shown$/ })
      .waitFor();
    // The answer for "failed" (no webhook) comes back late: the console has cancelled it, and shows "succeeded".
    expect(await slowFailed.release()).toBe('net::ERR_ABORTED');
    expect(await page.getByText('No webhook matches.').count()).toBe(0);
    expect(await page.getByRole('list', { name: 'Webhooks, newest first' }).getByRole('listitem').count()).toBe(2);
    expect(await page.getByLabel('Status', { exact: true }).inputValue()).toBe('succeeded');

    // Billing's page is slow to load; the user goes to Flaky's meanwhile, and stays there.
    const slowBilling = await holdRequests((url) => url.pathname === `/api/v1/webhook_endpoints/${healthyId}`);
    await page.goto(`${consoleUrl()}#/endpoints/${healthyId}`);
    await slowBilling.held();
    await page.goto(`${consoleUrl()}#/endpoints/${failingId}`);
    await page.getByRole('heading', { name: 'Flaky', level: 1 }).waitFor();
    expect(await slowBilling.release()).toBe('net::ERR_ABORTED');
    expect(await page.getByRole('heading', { level: 1 }).allTextContents()).toEqual(['Flaky']);
    await titled('Flaky · Webhooks · Lago console');
  });

  it('pages through a long list with Load more', async () => {
    // Billing has 2 webhooks so far; 20 more make 22, a page of 20 and a page of 2.
    await Promise.all(Array.from({ length: 20 }, (_, i) => publish(org, 'plan.created', { lago_id: `plan_${i}` })));
    await page.goto(`${consoleUrl()}#/endpoints/${healthyId}/deliveries`);
    await page.getByRole('status').filter({ hasText: '20 webhooks shown, more available' }).waitFor();
    await page.getByText('Last 22 deliveries').waitFor();
    await page.getByRole('button', { name: 'Load more' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /^22 webhooks shown$/ })
      .waitFor();
    expect(await page.getByRole('list', { name: 'Webhooks, newest first' }).getByRole('listitem').count()).toBe(22);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    await shoot('deliveries-long', false);
  });

  it('shows a retrying webhook with its last error and Retry, which makes its next attempt now; replays a window', async () => {
    // A receiver that asks to slow down: after its 429 the next attempt is at least a minute away.
    const slow = new Receiver((_req, res, count) =>
      count === 1 ? res.writeHead(429).end('slow down, please') : res.writeHead(200).end('ok'),
    );
    await slow.start();
    // It listens to a type no other test publishes, and goes at the end: the other endpoints' counts stay as they were.
    const slowId = await createEndpoint(org, {
      webhook_url: slow.url,
      signature_algo: 'hmac',
      name: 'Slow',
      event_types: ['credit_note.created'],
    });
    try {
      const published = await publish(org, 'credit_note.created', { lago_id: 'cn_console_1' });
      const id = published.body.webhooks.find((w) => w.lago_webhook_endpoint_id === slowId)!.lago_id;
      const retrying = await webhookSettles(org, id, ['retrying']);
      expect(Date.parse(retrying.next_attempt_at as string) - Date.now()).toBeGreaterThan(30_000);
      await page.goto(`${consoleUrl()}#/endpoints/${slowId}/deliveries`);
      const row = page.getByRole('button', { name: /^retrying credit_note\.created Response 429/ });
      await refreshUntil(row);
      await row.click();
      const panel = details();
      await panel.getByRole('heading', { name: 'Error response' }).waitFor();
      await panel.getByText('slow down, please').waitFor();
      await panel.getByText('Makes its next attempt now, instead of at its scheduled time.').waitFor();
      await shoot('detail-retrying', false);
      await panel.getByRole('button', { name: 'Retry' }).click();
      await panel.getByRole('status').filter({ hasText: 'Retried: its next attempt is on its way.' }).waitFor();
      const [, second] = await slow.waitFor(2, 10_000);
      expect(second!.headers['x-lago-unique-key']).toBe(id);
      await panel.locator('.status', { hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
      expect(await panel.getByRole('heading', { name: 'Error response' }).count()).toBe(0);
      expect(await panel.getByRole('button', { name: 'Retry' }).count()).toBe(0);
      await page.keyboard.press('Escape');

      // Replay today's window into this endpoint: the event arrives again, under the same unique key.
      await page.getByRole('button', { name: 'Replay' }).click();
      const dialog = page.getByRole('dialog', { name: 'Replay webhooks' });
      await dialog.getByLabel('succeeded').check();
      await shoot('replay', false);
      await dialog.getByRole('button', { name: 'Replay' }).click();
      await dialog
        .getByRole('status')
        .filter({ hasText: /^1 webhook replayed\.$/ })
        .waitFor();
      const [, , replayed] = await slow.waitFor(3, 10_000);
      expect(replayed!.headers['x-lago-unique-key']).toBe(id);
      expect(replayed!.body).toBe(second!.body);
      await page.keyboard.press('Escape');
    } finally {
      await request('DELETE', `/api/v1/webhook_endpoints/${slowId}`, { token: org.apiKey });
      await slow.stop();
    }
  });

  it('sends a test event of a type picked from the catalog, which verifies, and opens the webhook it made', async () => {
    await page.goto(`${consoleUrl()}#/endpoints/${healthyId}`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a test event' });
    await dialog.getByLabel('Event type to send').selectOption('subscription.started');
    await shoot('send-test-event', false);
    const before = healthy.received.length;
    await dialog.getByRole('button', { name: 'Send test event' }).click();
    await dialog
      .getByRole('status')
      .filter({
        hasText: /^Test event subscription\.started sent: webhook [0-9a-f-]{36} is (pending|retrying|succeeded)\.$/,
      })
      .waitFor();
    const got = (await healthy.waitFor(before + 1))[before]!;
    expect(JSON.parse(got.body)).toMatchObject({
      webhook_type: 'subscription.started',
      object_type: 'subscription',
      organization_id: org.id,
    });
    expect(got.headers['x-lago-signature']).toBe(
      createHmac('sha256', (await hmacKey()).hmac_key)
        .update(got.body)
        .digest('base64'),
    );

    await dialog.getByRole('button', { name: 'View the webhook' }).click();
    await dialog.waitFor({ state: 'detached' });
    const panel = details();
    await panel.getByText('Yes: an example sent with Send test event').waitFor();
    await panel.locator('.status', { hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    expect(JSON.parse((await panel.getByLabel('Payload').textContent())!)).toEqual(JSON.parse(got.body));
    await shoot('test-event-detail', false);
    await page.keyboard.press('Escape');
    await refreshUntil(page.getByRole('button', { name: /^succeeded subscription\.started test Response 200/ }));
  });

  it('says so plainly when the test events of an endpoint reached their rate limit', async () => {
    await page.goto(`${consoleUrl()}#/endpoints/${healthyId}`);
    await page.getByRole('button', { name: 'Send test event' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a test event' });
    // The limit (10 a minute to one endpoint, the default) is counted per minute: use it up within one.
    await withinOneWindow(60_000);
    let status = 0;
    for (let sent = 0; status !== 429 && sent <= 10; sent++)
      ({ status } = await request('POST', `/api/v1/webhook_endpoints/${healthyId}/test`, {
        token: org.apiKey,
        body: { webhook_type: 'customer.created' },
      }));
    expect(status).toBe(429);
    await dialog.getByRole('button', { name: 'Send test event' }).click();
    await dialog
      .getByRole('alert')
      .filter({
        hasText: /^Rate limit reached: at most 10 test events a minute to one endpoint; retry in \d+ s\.$/,
      })
      .waitFor();
    await shoot('test-event-rate-limited', false);
    await page.keyboard.press('Escape');
  });

  it('deletes an endpoint after a confirmation', async () => {
    await page.goto(consoleUrl());
    await endpointRow('Flaky').getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete webhook' });
    await confirm.getByText('Delete the webhook Flaky?').waitFor();
    await shoot('delete-confirmation', false);
    await confirm.getByRole('button', { name: 'Delete webhook' }).click();
    await endpointRow('Flaky').waitFor({ state: 'detached' });
    await endpointRow('Billing').waitFor();
    await shoot('webhooks');
    expect((await request('GET', `/api/v1/webhook_endpoints/${failingId}`, { token: org.apiKey })).status).toBe(404);
  });

  it("sets an endpoint's rate limit from the form, and shows its open circuit breaker", async () => {
    const created = await createEndpoint(org, { webhook_url: 'https://example.com/breaker', name: 'Breaker' });
    await page.goto(`${consoleUrl()}#/endpoints/${created}`);
    const facts = page.locator('dl.facts');
    await fact(facts, 'Rate limit').getByText('None').waitFor();
    await fact(facts, 'Circuit breaker')
      .getByText(/^Closed/)
      .waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('dialog', { name: 'Edit webhook' });
    await form.getByLabel('Rate limit (attempts a second)').fill('fast');
    await form.getByRole('button', { name: 'Save webhook' }).click();
    await form.getByText('value_is_invalid').waitFor();
    await form.getByLabel('Rate limit (attempts a second)').fill('5');
    await form.getByRole('button', { name: 'Save webhook' }).click();
    await form.waitFor({ state: 'detached' });
    await fact(facts, 'Rate limit').getByText('At most 5 attempts a second').waitFor();

    // Opened as the sender opens it, on the endpoint's item; the console shows it on its next read.
    const openedAtMs = Date.parse('2026-12-04T10:11:12Z');
    const client = new DynamoDBClient({
      endpoint: stack().dynamoDbEndpoint,
      region: LOCAL_REGION,
      credentials: stack().credentials,
    });
    try {
      await DynamoDBDocumentClient.from(client).send(
        new UpdateCommand({
          TableName: stack().table,
          Key: endpointKey(org.id, created),
          UpdateExpression: 'SET breaker_opened_at = :at',
          ExpressionAttributeValues: { ':at': openedAtMs },
        }),
      );
    } finally {
      client.destroy();
    }
    await page.reload();
    await fact(facts, 'Circuit breaker')
      .getByText(`Open since ${shownTime('2026-12-04T10:11:12Z')}: its webhooks wait without spending attempts`, {
        exact: false,
      })
      .waitFor();
    await shoot('endpoint-breaker-open', false);
    expect((await request('DELETE', `/api/v1/webhook_endpoints/${created}`, { token: org.apiKey })).status).toBe(200);
    await page.goto(consoleUrl());
    await endpointRow('Billing').waitFor();
  });

  it("signs out, and another organization's key sees none of it", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Organization API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn(other.apiKey);
    await page.getByText('No webhook yet').waitFor();
    expect(await page.getByText('Billing').count()).toBe(0);
    await page.goto(`${consoleUrl()}#/endpoints/${healthyId}/deliveries`);
    await page
      .getByRole('alert')
      .filter({ hasText: 'does not exist, or it belongs to another organization' })
      .waitFor();
    expect(await page.getByText('inv_console_1').count()).toBe(0);
  });

  it('received only API responses that match the OpenAPI document', async () => {
    await Promise.all(contractChecks);
    expect(contractProblems).toEqual([]);
    // By now the browser has reported every request it cancelled.
    const unexplained = unread.filter(
      ({ response, error }) => response.request().failure() === null && !/navigated away from/.test(error),
    );
    expect(unexplained.map(({ error }) => error)).toEqual([]);
    expect(contractChecks.length).toBeGreaterThan(50);
  });
});
