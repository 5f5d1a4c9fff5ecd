import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, type Api, type EventType } from './api.ts';

/** Small pieces every page uses: copy buttons, dialogs, error messages, times. */

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Times in UTC, to the second, as the API returns them: the same reading for everyone on a team. */
export const formatTime = (iso: string | null | undefined): string =>
  iso ? `${iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} UTC` : '—';

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {errorText(error)}
    </p>
  );
}

export function CopyButton({ text }: { text: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  // The Clipboard API is missing outside secure contexts: that is a failure to show, not to throw.
  const copy = () =>
    Promise.resolve()
      .then(() => navigator.clipboard.writeText(text))
      .then(
        () => setState('copied'),
        () => setState('failed'),
      );
  return (
    <span class="copy">
      <button type="button" class="secondary" onClick={copy}>
        Copy
      </button>
      <span role="status" class="hint">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </span>
  );
}

/** A modal dialog (the browser's own: focus stays inside, Escape closes it). */
export function Dialog({
  title,
  onClose,
  children,
  wide = false,
  panel = false,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  panel?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      class={`${wide ? 'wide' : ''} ${panel ? 'panel' : ''}`}
      onClose={onClose}
    >
      <header class="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </header>
      {children}
    </dialog>
  );
}

export function ConfirmDialog({
  title,
  message,
  confirm,
  onConfirm,
  onClose,
}: {
  title: string;
  message: string;
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <p>{message}</p>
      <ErrorMessage error={error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={busy} onClick={run}>
          {confirm}
        </button>
      </div>
    </Dialog>
  );
}

let catalog: Promise<EventType[]> | undefined;

/** Lago's catalog of webhook types, read once per page load. */
export function useEventTypes(api: Api): { types: EventType[]; error: unknown } {
  const [types, setTypes] = useState<EventType[]>([]);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    catalog ??= api<{ webhook_event_types: EventType[] }>('GET', '/api/v1/webhook_event_types').then(
      (r) => r.webhook_event_types,
    );
    catalog.then(setTypes, (e: unknown) => {
      catalog = undefined;
      setError(e);
    });
  }, [api]);
  return { types, error };
}

export const isNotFound = (error: unknown) => error instanceof ApiError && error.status === 404;
