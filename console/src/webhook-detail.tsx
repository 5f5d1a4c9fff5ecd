import { useEffect, useState } from 'preact/hooks';
import { webhookPath, type Webhook, type WebhookDetail, type WebhookResponse } from './api.ts';
import { useApi, useApiClient, useSubmit } from './hooks.ts';
import { useCanManage } from './session.ts';
import { CopyButton, Dialog, ErrorMessage, formatTime } from './ui.tsx';

/** A webhook's details, in Lago's words (its guide's webhook logs), with retry and resend. */

/** How long a panel follows a webhook that is still being delivered: a bounded poll. */
const FOLLOW = { intervalMs: 1000, polls: 90 };

const settled = (status: string) => status === 'succeeded' || status === 'failed';
/** Failed, or retrying after a failed attempt: Retry shows, with the last error response. */
const retriable = (status: string) => status === 'failed' || status === 'retrying';

/** Lago's "Response": the status code, or why there is none. */
export const responseText = (w: Webhook) =>
  w.http_status !== null ? String(w.http_status) : w.attempts_count > 0 ? 'timeout or error' : '—';

export function Status({ status }: { status: string }) {
  return <span class={`status s-${status}`}>{status}</span>;
}

function Facts({ webhook, following }: { webhook: WebhookDetail; following: boolean }) {
  return (
    <dl class="facts">
      <dt>Webhook type</dt>
      <dd>
        <code>{webhook.webhook_type}</code>
      </dd>
      <dt>Status</dt>
      <dd>
        <Status status={webhook.status} /> {following ? <span class="hint">(following until it settles)</span> : null}
      </dd>
      {webhook.test ? (
        <>
          <dt>Test event</dt>
          <dd>Yes: an example sent with Send test event</dd>
        </>
      ) : null}
      <dt>Unique key</dt>
      <dd>
        <code>{webhook.unique_key}</code>
      </dd>
      <dt>Timestamp</dt>
      <dd>{formatTime(webhook.created_at)}</dd>
      <dt>Webhook URL</dt>
      <dd>
        <code class="url">{webhook.webhook_url}</code>
      </dd>
      <dt>Response</dt>
      <dd>{responseText(webhook)}</dd>
      <dt>Number of retries</dt>
      <dd>{webhook.retries}</dd>
      {webhook.next_attempt_at && !settled(webhook.status) ? (
        <>
          <dt>Next attempt</dt>
          <dd>{formatTime(webhook.next_attempt_at)}</dd>
        </>
      ) : null}
    </dl>
  );
}

type Redelivery = 'retry' | 'resend';

/** Retry (a failed webhook: a new round; a retrying one: its next attempt now) or resend (a succeeded one: a new round). */
function Redeliver({
  webhook,
  onRedelivered,
}: {
  webhook: WebhookDetail;
  onRedelivered: (action: Redelivery) => void;
}) {
  const api = useApiClient();
  const canManage = useCanManage();
  const redeliver = useSubmit(
    async (signal, action: Redelivery) => {
      await api<WebhookResponse>('POST', `${webhookPath(webhook.lago_id)}/${action}`, { signal });
      return action;
    },
    { onDone: onRedelivered },
  );
  // A viewer changes nothing: no Retry or Resend.
  if (!canManage) return null;
  return (
    <>
      {retriable(webhook.status) ? (
        <p>
          <button type="button" onClick={() => void redeliver.run('retry')}>
            Retry
          </button>
          {webhook.status === 'retrying' ? (
            <>
              {' '}
              <span class="hint">Makes its next attempt now, instead of at its scheduled time.</span>
            </>
          ) : null}
        </p>
      ) : null}
      {webhook.status === 'succeeded' ? (
        <p>
          <button type="button" class="secondary" onClick={() => void redeliver.run('resend')}>
            Resend
          </button>{' '}
          <span class="hint">Delivers it again with the same unique key, as a new round of attempts.</span>
        </p>
      ) : null}
      <p role="status">
        {redeliver.result === 'resend'
          ? 'Resent: a new round of attempts under the same unique key.'
          : redeliver.result === 'retry'
            ? 'Retried: its next attempt is on its way.'
            : ''}
      </p>
      <ErrorMessage error={redeliver.error} />
    </>
  );
}

function Attempts({ attempts }: { attempts: WebhookDetail['attempts'] }) {
  if (!attempts.length) return <p class="hint">No attempt yet.</p>;
  return (
    <table class="attempts">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Time</th>
          <th scope="col">HTTP status or error</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {attempts.map((a) => (
          <tr key={a.number}>
            <td>{a.number}</td>
            <td>{formatTime(a.at)}</td>
            <td>{a.http_status ?? a.error ?? '—'}</td>
            <td>{a.duration_ms} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Body({ webhook }: { webhook: WebhookDetail }) {
  const payload = JSON.stringify(webhook.payload, null, 2);
  return (
    <>
      {retriable(webhook.status) && (webhook.response || webhook.error) ? (
        <>
          <h3>Error response</h3>
          <pre class="code" tabIndex={0}>
            {[webhook.error, webhook.response].filter(Boolean).join('\n\n')}
          </pre>
        </>
      ) : null}
      <div class="section-head">
        <h3>Payload</h3>
        <CopyButton text={payload} />
      </div>
      <pre class="code" tabIndex={0} aria-label="Payload">
        {payload}
      </pre>
    </>
  );
}

/** The panel follows a webhook still being delivered until it settles, for a bounded time. */
export function DetailPanel({
  id,
  onClose,
  onChange,
}: {
  id: string;
  onClose: () => void;
  onChange: (webhook: WebhookDetail) => void;
}) {
  const { data, error, loading, reload } = useApi<WebhookResponse>(webhookPath(id));
  const webhook = data?.webhook;
  const [polls, setPolls] = useState(0);
  const following = webhook !== undefined && !settled(webhook.status) && polls < FOLLOW.polls;
  useEffect(() => {
    if (webhook) onChange(webhook);
  }, [webhook, onChange]);
  // The next look is scheduled once the last one answered.
  useEffect(() => {
    if (!following || loading) return;
    const timer = setTimeout(() => {
      setPolls((n) => n + 1);
      reload();
    }, FOLLOW.intervalMs);
    return () => clearTimeout(timer);
  }, [following, loading, data, reload]);
  const redelivered = () => {
    setPolls(0);
    reload();
  };
  return (
    <Dialog title="Webhook details" onClose={onClose} panel>
      <ErrorMessage error={error} />
      {webhook ? (
        <div class="detail">
          <Facts webhook={webhook} following={following} />
          <Redeliver webhook={webhook} onRedelivered={redelivered} />
          <h3>Attempts</h3>
          <Attempts attempts={webhook.attempts} />
          <Body webhook={webhook} />
        </div>
      ) : null}
    </Dialog>
  );
}
