import { useState } from 'preact/hooks';
import type { HmacKey, HmacKeyResponse, JsonPublicKey, RotateRequest } from './api.ts';
import { useApi, useApiClient } from './hooks.ts';
import { ConfirmDialog, CopyButton, ErrorMessage, formatTime } from './ui.tsx';

/** The organization's signing keys: the HMAC token (with its rotation) and the JWT public key. */

/**
 * How long the previous token stays valid after a rotation. The console always sends the overlap, so
 * the dialog says what will happen; 24 hours is also the server's default (docs/receivers.md, "Rotating the HMAC token").
 */
const OVERLAPS = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 24 * 3600, label: '24 hours' },
  { seconds: 3 * 24 * 3600, label: '3 days' },
  { seconds: 7 * 24 * 3600, label: '7 days' },
] as const;
type Overlap = (typeof OVERLAPS)[number];
const DEFAULT_OVERLAP: Overlap = OVERLAPS[1];

function RotateDialog({
  current,
  onRotated,
  onClose,
}: {
  current: HmacKey;
  onRotated: (key: HmacKey) => void;
  onClose: () => void;
}) {
  const api = useApiClient();
  const [overlap, setOverlap] = useState<Overlap>(DEFAULT_OVERLAP);
  const body: RotateRequest = { overlap_seconds: overlap.seconds };
  return (
    <ConfirmDialog
      title="Rotate HMAC token"
      confirm="Rotate token"
      onClose={onClose}
      action={(signal) => api<HmacKeyResponse>('POST', '/api/v1/webhooks/hmac_key/rotate', { body, signal })}
      onDone={(r) => onRotated(r.webhook)}
    >
      <p>Rotate the HMAC token? X-Lago-Signature switches to a new token at once.</p>
      <div class="field">
        <label for="rotate-overlap">Keep the previous token valid for</label>
        <select
          id="rotate-overlap"
          value={overlap.seconds}
          onChange={(e) =>
            setOverlap(OVERLAPS.find((o) => String(o.seconds) === e.currentTarget.value) ?? DEFAULT_OVERLAP)
          }
        >
          {OVERLAPS.map((o) => (
            <option key={o.seconds} value={o.seconds}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      <p>
        The previous token stays valid for {overlap.label}. Until then the webhook-signature header carries signatures
        from both tokens, so receivers that verify it can move to the new token without a failed check. After that, only
        the new token signs.
      </p>
      {current.previous_expires_at ? (
        <p>
          The token before the current one, still valid until {formatTime(current.previous_expires_at)}, stops working
          now.
        </p>
      ) : null}
    </ConfirmDialog>
  );
}

export function HmacToken() {
  const loaded = useApi<HmacKeyResponse>('/api/v1/webhooks/hmac_key');
  // The answer of a rotation replaces what was loaded: it is the newer.
  const [rotated, setRotated] = useState<HmacKey>();
  const [revealed, setRevealed] = useState(false);
  const [rotating, setRotating] = useState(false);
  const key = rotated ?? loaded.data?.webhook;
  return (
    <section class="card" aria-labelledby="hmac-title">
      <div class="section-head">
        <h2 id="hmac-title">HMAC signature token</h2>
        {key ? (
          <button type="button" class="secondary" onClick={() => setRotating(true)}>
            Rotate
          </button>
        ) : null}
      </div>
      <p class="hint">Receivers of HMAC-signed webhooks check the X-Lago-Signature header with this token.</p>
      <ErrorMessage error={loaded.error} />
      {key ? (
        <div class="secret">
          <code data-testid="hmac-token">{revealed ? key.hmac_key : '•'.repeat(24)}</code>
          <button type="button" class="secondary" onClick={() => setRevealed(!revealed)}>
            {revealed ? 'Hide' : 'Reveal'}
          </button>
          <CopyButton text={key.hmac_key} />
        </div>
      ) : null}
      {rotated ? <p role="status">New token created. X-Lago-Signature now uses it.</p> : null}
      {key?.previous_expires_at ? (
        <p class="hint" data-testid="previous-expiry">
          The previous token still signs the webhook-signature header until {formatTime(key.previous_expires_at)}: move
          receivers to the new token before then.
        </p>
      ) : null}
      {rotating && key ? (
        <RotateDialog
          current={key}
          onClose={() => setRotating(false)}
          onRotated={(next) => {
            setRotated(next);
            // The new token is what the user came for: shown at once.
            setRevealed(true);
            setRotating(false);
          }}
        />
      ) : null}
    </section>
  );
}

export function JwtPublicKey() {
  const { data, error } = useApi<JsonPublicKey>('/api/v1/webhooks/json_public_key');
  const key = data?.webhook.public_key;
  return (
    <section class="card" aria-labelledby="jwt-title">
      <h2 id="jwt-title">JWT public key</h2>
      <p class="hint">
        Receivers of JWT-signed webhooks verify the X-Lago-Signature token with this key (base64 of the PEM).
      </p>
      <ErrorMessage error={error} />
      {key ? (
        <>
          <pre class="key" tabIndex={0}>
            {key}
          </pre>
          <CopyButton text={key} />
        </>
      ) : null}
    </section>
  );
}
