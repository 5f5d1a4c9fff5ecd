import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useId, useRef, useState } from 'preact/hooks';
import type { EventType, EventTypes } from './api.ts';
import { useSubmit, type Loaded } from './hooks.ts';

/** Small pieces every page uses: view headings and titles, copy buttons, dialogs, error messages, times. */

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Times in UTC, to the second, as the API returns them: the same reading for everyone on a team. */
export const formatTime = (iso: string | null | undefined): string =>
  iso ? `${iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '')} UTC` : '—';

/** True once the user has moved from the view the console opened on to another one. */
export const NavigatedContext = createContext(false);

/** The browser tab's title for the view shown, most specific part first. */
export function useDocumentTitle(...parts: string[]) {
  const title = [...parts, 'Lago console'].join(' · ');
  useEffect(() => {
    document.title = title;
  }, [title]);
}

/**
 * A view's h1. After in-app navigation it takes the focus, so keyboard and screen reader users
 * start at the top of the new view instead of on a control that no longer exists.
 */
export function ViewHeading({ children, class: className }: { children: ComponentChildren; class?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const navigated = useContext(NavigatedContext);
  useEffect(() => {
    if (navigated) ref.current?.focus();
  }, [navigated]);
  return (
    <h1 ref={ref} tabIndex={-1} class={className}>
      {children}
    </h1>
  );
}

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

/** Asks before an action; `onDone` gets its result once it succeeded (the dialog shows a failure itself). */
export function ConfirmDialog<R>({
  title,
  children,
  confirm,
  action,
  onDone,
  onClose,
}: {
  title: string;
  children: ComponentChildren;
  confirm: string;
  action: (signal: AbortSignal) => Promise<R>;
  onDone: (result: R) => void;
  onClose: () => void;
}) {
  const submit = useSubmit(action, { onDone });
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <ErrorMessage error={submit.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={submit.busy} onClick={() => void submit.run()}>
          {confirm}
        </button>
      </div>
    </Dialog>
  );
}

/** Lago's catalog of webhook types, read once per sign-in (see app.tsx). */
export const EventTypesContext = createContext<Loaded<EventTypes> | undefined>(undefined);

const NO_TYPES: EventType[] = [];

export function useEventTypes(): { types: EventType[]; error: unknown } {
  const catalog = useContext(EventTypesContext);
  return { types: catalog?.data?.webhook_event_types ?? NO_TYPES, error: catalog?.error };
}
