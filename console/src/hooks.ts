import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.ts';

/**
 * Every call to the API goes through these two hooks, under one rule: a response to an outdated
 * request (its path changed, a newer run started, its component unmounted) is never applied. Each
 * request has an AbortController; the request is aborted when it goes out of date, and whatever
 * still comes back for it is dropped.
 */

export const ApiContext = createContext<Api | undefined>(undefined);

export function useApiClient(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApiClient is used outside the signed-in console');
  return api;
}

export interface Loaded<T> {
  /** The latest response for the current path; kept while the same path reloads. */
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

interface Answer<T> {
  path: string;
  round: number;
  data?: T;
  error?: unknown;
}

/** GETs `path` (nothing while it is null), again on `reload()`, and drops the answers of any outdated request. */
export function useApi<T>(path: string | null): Loaded<T> {
  const api = useApiClient();
  const [round, setRound] = useState(0);
  const [answer, setAnswer] = useState<Answer<T>>();
  const reload = useCallback(() => setRound((n) => n + 1), []);
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    const settle = (next: Omit<Answer<T>, 'path' | 'round'>) => {
      if (controller.signal.aborted) return;
      // A failed reload keeps what the same path showed before, beside the error.
      setAnswer((before) => ({ data: before?.path === path ? before.data : undefined, ...next, path, round }));
    };
    api<T>('GET', path, { signal: controller.signal }).then(
      (data) => settle({ data }),
      (error: unknown) => settle({ error }),
    );
    return () => controller.abort();
  }, [api, path, round]);
  const current = answer?.path === path ? answer : undefined;
  return {
    data: current?.data,
    error: current?.error,
    loading: path !== null && current?.round !== round,
    reload,
  };
}

export interface Submit<A extends unknown[], R> {
  run: (...args: A) => Promise<void>;
  busy: boolean;
  error: unknown;
  result: R | undefined;
}

interface SubmitOptions<R> {
  /** Runs of another scope (for example the list a page is added to) are out of date. */
  scope?: unknown;
  /** Called with the result of a run that succeeded and is still current. */
  onDone?: (result: R) => void;
}

/**
 * An action (a POST, a PUT…) started by the user, with its busy and error state. A new run
 * supersedes the one before; a run is out of date once its scope changes or its component unmounts.
 */
export function useSubmit<A extends unknown[], R>(
  action: (signal: AbortSignal, ...args: A) => Promise<R>,
  { scope, onDone }: SubmitOptions<R> = {},
): Submit<A, R> {
  type State = { scope: unknown; busy: boolean; error?: unknown; result?: R };
  const [state, setState] = useState<State>({ scope, busy: false });
  const running = useRef<AbortController>(undefined);
  useEffect(() => () => running.current?.abort(), [scope]);
  const run = async (...args: A) => {
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    setState({ scope, busy: true });
    try {
      const result = await action(controller.signal, ...args);
      if (controller.signal.aborted) return;
      setState({ scope, busy: false, result });
      onDone?.(result);
    } catch (error) {
      if (!controller.signal.aborted) setState({ scope, busy: false, error });
    }
  };
  // What a run of another scope left (busy, a result, an error) is not this scope's.
  const current: State = Object.is(state.scope, scope) ? state : { scope, busy: false };
  return { busy: current.busy, error: current.error, result: current.result, run };
}
