import { useSyncExternalStore } from 'react';
import type { Store } from './model/store.js';

/** The store's current state; the component re-renders when it changes. */
export function useStore<S, A>(store: Store<S, A>): S {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}
