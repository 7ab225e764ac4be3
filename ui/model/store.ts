/**
 * A tiny external store (state + reducer + listeners) for useSyncExternalStore. Commands that do
 * I/O dispatch into it and read the state back at once, which React's useReducer cannot offer,
 * and the state outlives a remount of the App (the editor hands the terminal over by unmounting).
 */
export interface Store<S, A> {
  getState(): S;
  dispatch(action: A): void;
  subscribe(listener: () => void): () => void;
}

/** A store over `reducer`; listeners run only when the reducer returns a new state object. */
export function createStore<S, A>(reducer: (state: S, action: A) => S, initial: S): Store<S, A> {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action);
      if (next === state) return;
      state = next;
      for (const listener of [...listeners]) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
