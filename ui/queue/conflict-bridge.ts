import { useSyncExternalStore } from 'react';
import { FerryError, type Entry } from '../../src/protocol/index.js';
import type { ConflictDecision, ConflictHandler, JobInfo, ResolvedPolicy } from '../../src/transfer/types.js';

/*
 * TransferQueue asks about a file that exists with an async callback; the TUI answers from a
 * dialog. The bridge sits between them: the callback parks the question here and waits, React
 * renders the question (useSyncExternalStore), and the dialog's answer resolves the wait.
 * Questions come one at a time from a queue, but several queues may share a bridge, so they wait
 * in line.
 */

/** What the file-exists dialog shows. */
export interface ConflictQuestion {
  job: JobInfo;
  /** The file being copied. */
  source: Entry;
  /** What is in the way. */
  target: Entry;
  /** 'resume' makes sense: the target is a file shorter than the source (maybe an interrupted copy). */
  canResume: boolean;
}

export interface ConflictBridge {
  /** Give this to `new TransferQueue({ conflict: 'ask', onConflict: bridge.onConflict })`. */
  readonly onConflict: ConflictHandler;
  subscribe(listener: () => void): () => void;
  /** The question on screen, or null. */
  getSnapshot(): ConflictQuestion | null;
  /**
   * Answers the question on screen; the next one (if any) takes its place. Throws EINVAL for a
   * policy the question does not offer (see `policiesFor`), and when nothing is asked.
   */
  answer(decision: ConflictDecision): void;
  /** Rejects every waiting question with ECANCELED (the queue fails those jobs); for quitting. */
  cancelAll(): void;
}

/** True when 'resume' is worth offering: the target is a file and shorter than the source. */
export function canResumeInto(source: Entry, target: Entry): boolean {
  return target.type === 'file' && source.type === 'file' && target.size < source.size;
}

/**
 * The choices a question offers, in dialog order. A directory in the way can only be skipped or
 * the copy renamed (the queue refuses to replace a directory by a file); 'resume' only when
 * `canResume`.
 */
export function policiesFor(question: Pick<ConflictQuestion, 'target' | 'canResume'>): ResolvedPolicy[] {
  if (question.target.type === 'dir') return ['skip', 'rename'];
  const all: ResolvedPolicy[] = ['overwrite', 'resume', 'skip', 'rename', 'newer', 'size-differs'];
  return question.canResume ? all : all.filter((policy) => policy !== 'resume');
}

interface Waiting {
  question: ConflictQuestion;
  resolve: (decision: ConflictDecision) => void;
  reject: (error: Error) => void;
}

/** A new bridge with nothing asked. */
export function createConflictBridge(): ConflictBridge {
  const waiting: Waiting[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  return {
    onConflict: (job, source, target) =>
      new Promise<ConflictDecision>((resolve, reject) => {
        waiting.push({ question: { job, source, target, canResume: canResumeInto(source, target) }, resolve, reject });
        if (waiting.length === 1) notify();
      }),
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    getSnapshot: () => waiting[0]?.question ?? null,
    answer(decision) {
      const current = waiting[0];
      if (current === undefined) throw new FerryError('EINVAL', 'no file-exists question is waiting for an answer');
      if (!policiesFor(current.question).includes(decision.policy)) {
        throw new FerryError('EINVAL', `'${decision.policy}' is not a choice for ${current.question.job.target}`);
      }
      waiting.shift();
      current.resolve({ policy: decision.policy, applyToAll: decision.applyToAll });
      notify();
    },
    cancelAll() {
      if (waiting.length === 0) return;
      for (const item of waiting.splice(0)) item.reject(new FerryError('ECANCELED', `canceled: ${item.question.job.source}`));
      notify();
    },
  };
}

/** The question on screen, re-rendering when it changes. */
export function useConflictQuestion(bridge: ConflictBridge): ConflictQuestion | null {
  return useSyncExternalStore(bridge.subscribe, bridge.getSnapshot);
}
