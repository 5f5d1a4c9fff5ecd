// Portal links in Debian's Chromium: a link opens the console signed in, with no token left in the URL; the header
// shows the role and the expiry; a viewer sees the deliveries but no Reveal, Rotate or any button that changes
// something; a manager sees them; an expired or revoked link says so plainly instead of the sign-in form's error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSecretStore } from '#shared/adapters/local-secrets.ts';
import { currentVersion, parseKeyring } from '#shared/domain/keys/keyring.ts';
import { PORTAL_AUDIENCE, portalSessionKey } from '#shared/domain/organizations/portal-sessions.ts';
import { hmacRootSecretName } from '#shared/domain/secrets.ts';
import { LOCAL_SECRETS_PREFIX } from '#shared/runtime/local-deps.ts';
import { admin, createEndpoint, createOrg, publish, stack, webhookSettles, type Org } from './helpers.ts';
import { Receiver } from '../support/receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const SESSION_KEY = 'lago-console-api-key';
const REFUSED = 'This portal link has expired or was revoked. Ask for a new one.';

/** A time as the console shows it (UTC, to the second). */
const shownTime = (iso: string) => `${iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} UTC`;

async function portalLink(org: Org, role: 'viewer' | 'manager', endpointId?: string) {
  const res = await admin<{ portal_session: { url: string; token: string; expires_at: string } }>(
    'POST',
    `/admin/v1/organizations/${org.id}/portal_sessions`,
    { role, ttl_seconds: 600, ...(endpointId ? { webhook_endpoint_id: endpointId } : {}) },
  );
  if (res.status !== 201) throw new Error(`no portal session: ${res.status} ${res.text}`);
  return res.body.portal_session;
}

/** A session token that expired a minute ago, signed with the stack's own session key (read from its secrets). */
async function expiredToken(org: Org): Promise<string> {
  const text = await new LocalSecretStore(stack().dataDir).get(hmacRootSecretName(LOCAL_SECRETS_PREFIX));
  if (!text) throw new Error('no HMAC root ring');
  const current = currentVersion(parseKeyring(text), Date.now());
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'viewer', sv: 0 })
    .setProtectedHeader({ alg: 'HS256', kid: current.version })
    .setSubject(org.id)
    .setAudience(PORTAL_AUDIENCE)
    .setIssuedAt(now - 120)
    .setExpirationTime(now - 60)
    .setJti('expired')
    .sign(portalSessionKey(Buffer.from(current.key, 'base64')));
}

describe('portal links in Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let org: Org;
  let endpointId: string;
  const receiver = new Receiver();

  const signedInAs = () => page.getByTestId('session');
  const stored = () => page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY);

  beforeAll(async () => {
    userDataDir = await mkdtemp(join(tmpdir(), 'lago-console-portal-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10_000);
    await receiver.start();
    org = await createOrg('Portal Console');
    endpointId = await createEndpoint(org, {
      webhook_url: receiver.url,
      name: 'Billing',
      signature_algo: 'hmac',
    });
    const published = await publish(org, 'invoice.created', { lago_id: 'inv_portal_1' });
    const webhookId = published.body.webhooks.find((w) => w.lago_webhook_endpoint_id === endpointId)?.lago_id;
    if (!webhookId) throw new Error('no webhook for the endpoint');
    await webhookSettles(org, webhookId, ['succeeded']);
  });

  afterAll(async () => {
    await context?.close();
    await receiver.stop();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it('opens signed in as a viewer, takes the token out of the URL, and shows the deliveries but nothing that changes or reveals', async () => {
    const link = await portalLink(org, 'viewer');
    await page.goto(link.url);
    await page.getByRole('link', { name: /^Billing\b/ }).waitFor();
    // The fragment is gone from the address bar and the history; the token is kept as a signed-in key is.
    expect(page.url()).toBe(`${stack().url}/console/#/`);
    expect(page.url()).not.toContain(link.token);
    expect(await stored()).toBe(link.token);
    expect(await signedInAs().textContent()).toBe(`Viewer · until ${shownTime(link.expires_at)}`);
    // The JWT public key is public; the HMAC token, writes and reveals are not for a viewer.
    await page.getByRole('region', { name: 'JWT public key' }).locator('pre').waitFor();
    expect(await page.getByRole('region', { name: 'HMAC signature token' }).count()).toBe(0);
    for (const name of ['Reveal', 'Rotate', 'Add a webhook', 'Edit', 'Delete'])
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);

    await page.getByRole('link', { name: /^Billing\b/ }).click();
    await page.getByRole('tab', { name: 'Deliveries' }).click();
    const row = page.getByRole('button', { name: /^succeeded invoice\.created Response 200/ });
    await row.waitFor();
    expect(await page.getByRole('button', { name: 'Send test event' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Recover' }).count()).toBe(0);
    await row.click();
    const panel = page.getByRole('dialog', { name: 'Webhook details' });
    await panel.getByText('inv_portal_1').waitFor();
    expect(await panel.getByRole('button', { name: 'Resend' }).count()).toBe(0);
  });

  it("opens an endpoint's deliveries when the link names it, signed in, with the token out of the URL", async () => {
    await page.goto('about:blank');
    const link = await portalLink(org, 'viewer', endpointId);
    expect(link.url).toBe(`${stack().url}/console/#portal=${link.token}&endpoint=${endpointId}`);
    await page.goto(link.url);
    await page.getByRole('button', { name: /^succeeded invoice\.created Response 200/ }).waitFor();
    expect(await page.getByRole('tab', { name: 'Deliveries' }).getAttribute('aria-selected')).toBe('true');
    expect(page.url()).toBe(`${stack().url}/console/#/endpoints/${endpointId}/deliveries`);
    expect(await stored()).toBe(link.token);
  });

  it('opens signed in as a manager, with the buttons a manager may use', async () => {
    const link = await portalLink(org, 'manager');
    await page.goto(link.url);
    expect(await signedInAs().textContent()).toBe(`Manager · until ${shownTime(link.expires_at)}`);
    await page.getByRole('button', { name: 'Reveal' }).waitFor();
    await page.getByRole('button', { name: 'Add a webhook' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).waitFor();
    expect(await stored()).toBe(link.token);
  });

  it('says an expired link has expired, rather than the sign-in form\u2019s error, and keeps no token', async () => {
    await page.goto(`${stack().url}/console/#portal=${await expiredToken(org)}`);
    await page.getByRole('alert').filter({ hasText: REFUSED }).waitFor();
    await page.getByLabel('Organization API key').waitFor();
    expect(await page.getByText('This organization API key was not accepted').count()).toBe(0);
    expect(await stored()).toBeNull();
    expect(page.url()).toBe(`${stack().url}/console/#/`);
  });

  it('says a revoked link was revoked, also when it is revoked while in use', async () => {
    const link = await portalLink(org, 'viewer');
    await page.goto(link.url);
    await page.getByRole('link', { name: /^Billing\b/ }).waitFor();
    expect((await admin('POST', `/admin/v1/organizations/${org.id}/portal_sessions/revoke`)).status).toBe(200);
    // The next call the console makes is refused: it signs out and says why.
    await page.reload();
    await page.getByRole('alert').filter({ hasText: REFUSED }).waitFor();
    expect(await stored()).toBeNull();
    // The same link opened again says so too.
    await page.goto(link.url);
    await page.getByRole('alert').filter({ hasText: REFUSED }).waitFor();
    expect(await page.getByTestId('session').count()).toBe(0);
  });
});
