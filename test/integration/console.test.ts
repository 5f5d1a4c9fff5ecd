// Covers the web console at /console/: how it is served (redirect, assets, security headers), then Debian's Chromium driving it
// as an organization would: sign in, keys and their rotation, adding/editing/deleting endpoints, deliveries, filters, the detail
// panel, retry, resend, recover, test events, and another organization seeing none of it. Screenshots of each page at 1280×800 and 390×844 go to screenshots/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
          .then((text) =>
            checkResponse(
              response.request().method(),
              `${url.pathname}${url.search}`,
              response.status(),
              response.headers()['content-type'] ?? null,
              text,
            ),
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
    await shoot('sign-in');
    await signIn('not-a-valid-key');
    await page.getByRole('alert').filter({ hasText: 'This organization API key was not accepted' }).waitFor();
    // With the keyboard alone: the key field is the first stop, Enter signs in.
    await page.reload();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('api-key');
    await page.keyboard.type(org.apiKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Webhooks', level: 1, exact: true }).waitFor();
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

  it('rotates the HMAC token after a confirmation, showing the new token and until when the previous one still signs', async () => {
    const before = (await hmacKey()).hmac_key;
    const card = page.getByRole('region', { name: 'HMAC signature token' });
    await card.getByRole('button', { name: 'Rotate' }).click();
    const confirm = page.getByRole('dialog', { name: 'Rotate HMAC token' });
    await confirm.getByText('X-Lago-Signature switches to a new token at once').waitFor();
    await shoot('rotate-confirmation', false);
    // Cancel changes nothing.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await hmacKey()).hmac_key).toBe(before);

    await card.getByRole('button', { name: 'Rotate' }).click();
    await confirm.getByRole('button', { name: 'Rotate token' }).click();
    await confirm.waitFor({ state: 'detached' });
    await card.getByRole('status').filter({ hasText: 'New token created. X-Lago-Signature now uses it.' }).waitFor();
    const after = await hmacKey();
    expect(after.hmac_key).not.toBe(before);
    expect(after.previous_hmac_key).toBe(before);
    expect(await page.getByTestId('hmac-token').textContent()).toBe(after.hmac_key);
    expect(await card.getByTestId('previous-expiry').textContent()).toContain(
      `until ${shownTime(after.previous_expires_at!)}`,
    );
    await shoot('rotated', false);
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
    const row = page.getByRole('button', { name: /^succeeded invoice\.created HTTP status 200/ });
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
    const failedRow = page.getByRole('button', { name: /^failed invoice\.created HTTP status 500/ });
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
    await shoot('detail-failed', false);

    failing.reply = (_req, res) => res.writeHead(200).end('ok');
    await panel.getByRole('button', { name: 'Retry' }).click();
    // The panel follows the webhook until it settles.
    await panel.locator('.status', { hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    expect((await webhookSettles(org, failedWebhookId, ['succeeded'])).status).toBe('succeeded');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: /^succeeded invoice\.created HTTP status 200/ }).waitFor();
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
    await refreshUntil(page.getByRole('button', { name: /^succeeded customer\.created HTTP status 200/ }));
    await page.getByText('Last 2 deliveries: 2 succeeded').waitFor();
    await shoot('deliveries-after-recovery');
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
    await refreshUntil(page.getByRole('button', { name: /^succeeded subscription\.started test HTTP status 200/ }));
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
    expect(contractChecks.length).toBeGreaterThan(50);
  });
});
