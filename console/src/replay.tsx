import { useState } from 'preact/hooks';
import { endpointPath, type Endpoint, type ReplayRequest, type ReplayResult } from './api.ts';
import { useApiClient, useSubmit } from './hooks.ts';
import { Dialog, ErrorMessage, formatTime } from './ui.tsx';

/** Replay of a window into one endpoint (beyond Lago): every event it listens to, succeeded ones included, sent again. */

const STATUSES = ['succeeded', 'failed'] as const;

const replayed = (r: ReplayResult) =>
  `${r.replayed} webhook${r.replayed === 1 ? '' : 's'} replayed.${
    r.next_to_date ? ` More remain before ${formatTime(r.next_to_date)}: click Replay to go on.` : ''
  }`;

export function ReplayDialog({ endpoint, onClose }: { endpoint: Endpoint; onClose: () => void }) {
  const api = useApiClient();
  const [today] = useState(() => new Date().toISOString().slice(0, 10));
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [statuses, setStatuses] = useState<string[]>([]);
  const replay = useSubmit((signal, body: ReplayRequest) =>
    api<ReplayResult>('POST', `${endpointPath(endpoint.lago_id)}/replay`, { body, signal }),
  );
  // A call that stopped early goes on where it stopped, until the window is changed.
  const goOn = replay.result?.next_to_date ?? undefined;
  const toggle = (status: string, on: boolean) =>
    setStatuses((now) => (on ? [...now, status] : now.filter((s) => s !== status)));
  const submit = (event: Event) => {
    event.preventDefault();
    void replay.run({
      from_date: from,
      to_date: goOn ?? to,
      ...(statuses.length ? { statuses: statuses as ReplayRequest['statuses'] } : {}),
    });
  };
  return (
    <Dialog title="Replay webhooks" onClose={onClose}>
      <form class="replay" onSubmit={submit}>
        <p class="hint">
          Sends this endpoint again every event of a window (at most 14 days) that it listens to, succeeded ones
          included, each under its unique key.
        </p>
        <div class="field">
          <label for="replay-from">Replay from</label>
          <input id="replay-from" type="date" required value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="replay-to">Replay to</label>
          <input id="replay-to" type="date" required value={to} onChange={(e) => setTo(e.currentTarget.value)} />
        </div>
        <fieldset>
          <legend>Only these statuses (all when none is checked)</legend>
          {STATUSES.map((status) => (
            <label key={status}>
              <input
                type="checkbox"
                checked={statuses.includes(status)}
                onChange={(e) => toggle(status, e.currentTarget.checked)}
              />{' '}
              {status}
            </label>
          ))}
        </fieldset>
        <ErrorMessage error={replay.error} />
        <p role="status">{replay.result ? replayed(replay.result) : ''}</p>
        <div class="actions">
          <button type="submit" disabled={replay.busy}>
            Replay
          </button>
        </div>
      </form>
    </Dialog>
  );
}
