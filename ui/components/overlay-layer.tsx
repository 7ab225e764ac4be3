import { useEffect, useState } from 'react';
import type { HostEntry } from '../../src/credentials/host-book.js';
import type { KeychainStatus } from '../../src/credentials/keychain.js';
import type { CommandContext } from '../commands/context.js';
import { answerConfirm, answerInput } from '../commands/file-ops.js';
import { runSafely } from '../commands/run-command.js';
import { submitLogin, type LoginService } from '../commands/login.js';
import { discardUnfinished, resumeUnfinished } from '../commands/resume.js';
import { askTrust } from '../commands/trust.js';
import { ConfirmDialog } from '../dialogs/confirm-dialog.js';
import { ConflictDialog } from '../dialogs/conflict-dialog.js';
import { InputDialog } from '../dialogs/input-dialog.js';
import { IdentityChangedDialog } from '../dialogs/identity-changed-dialog.js';
import { LoginDialog } from '../dialogs/login-dialog.js';
import type { RegisterValues } from '../dialogs/login-form.js';
import { ResumeDialog } from '../dialogs/resume-dialog.js';
import { TrustDialog } from '../dialogs/trust-dialog.js';
import type { LoginOverlay, Overlay as OverlayState } from '../model/app-state.js';
import type { ConflictQuestion } from '../queue/conflict-bridge.js';
import { Overlay } from './dialog-frame.js';

export interface OverlayLayerProps {
  ctx: CommandContext;
  overlay: OverlayState | null;
  /** A file-exists question of the queue: it goes above everything else. */
  question: ConflictQuestion | null;
  login: LoginService | undefined;
  journalDir: string | undefined;
  width: number;
  height: number;
}

/** What the login dialog lists, loaded when it opens. */
function useLoginLists(service: LoginService | undefined, open: boolean) {
  const [lists, setLists] = useState<{ recent: HostEntry[]; bookmarks: HostEntry[]; keychain: KeychainStatus | undefined }>({ recent: [], bookmarks: [], keychain: undefined });
  useEffect(() => {
    if (!open || service === undefined) return;
    let live = true;
    service.load().then(
      (loaded) => {
        if (live) setLists({ recent: loaded.recent, bookmarks: loaded.bookmarks, keychain: loaded.keychain });
      },
      (error: unknown) => {
        if (live) setLists({ recent: [], bookmarks: [], keychain: { available: false, reason: error instanceof Error ? error.message : String(error) } });
      },
    );
    return () => {
      live = false;
    };
  }, [service, open]);
  return lists;
}

/** The login dialog an overlay shows: its own, or the one waiting under a trust question or an identity alarm. */
function loginOf(overlay: OverlayState | null): LoginOverlay | undefined {
  if (overlay?.kind === 'login') return overlay;
  if (overlay?.kind === 'trust' || overlay?.kind === 'identity-changed') return loginOf(overlay.under);
  return undefined;
}

/**
 * The dialog on top of the panes, centred, with the input. The login dialog stays drawn (and
 * keeps its form) under a trust question or an identity alarm about its server, and under a
 * file-exists question; whatever is on top takes the keys.
 */
export function OverlayLayer({ ctx, overlay, question, login, journalDir, width, height }: OverlayLayerProps) {
  const loginOverlay = loginOf(overlay);
  const lists = useLoginLists(login, loginOverlay !== undefined);
  const close = () => ctx.store.dispatch({ type: 'overlay', overlay: null });
  const dialogWidth = Math.max(30, Math.min(width - 4, 72));
  let dialog = null;
  if (question !== null) {
    dialog = (
      <ConflictDialog
        isActive
        job={question.job}
        source={question.source}
        target={question.target}
        canResume={question.canResume}
        width={Math.max(40, Math.min(width - 4, 76))}
        onDecide={(decision) => ctx.conflicts.answer(decision)}
      />
    );
  } else if (overlay?.kind === 'input') {
    dialog = (
      <InputDialog
        key={overlay.title + overlay.prompt}
        title={overlay.title}
        prompt={overlay.prompt}
        initial={overlay.initial}
        width={dialogWidth}
        isActive
        onSubmit={(value) => runSafely(ctx, () => answerInput(ctx, overlay.purpose, value))}
        onCancel={close}
      />
    );
  } else if (overlay?.kind === 'confirm') {
    dialog = (
      <ConfirmDialog
        title={overlay.title}
        message={overlay.message}
        yes={overlay.yes}
        danger={overlay.danger}
        width={dialogWidth}
        isActive
        onYes={() => runSafely(ctx, () => answerConfirm(ctx, overlay.purpose))}
        onNo={close}
      />
    );
  } else if (overlay?.kind === 'trust') {
    dialog = <TrustDialog key={overlay.hostPort + overlay.peer.fingerprint} isActive hostPort={overlay.hostPort} peer={overlay.peer} width={Math.max(40, Math.min(width - 4, 76))} onAnswer={overlay.answer} />;
  } else if (overlay?.kind === 'identity-changed') {
    dialog = (
      <IdentityChangedDialog
        isActive
        hostPort={overlay.hostPort}
        known={overlay.known}
        presented={overlay.presented.fingerprint}
        width={Math.max(40, Math.min(width - 4, 80))}
        onClose={() => ctx.store.dispatch({ type: 'overlay', overlay: overlay.under })}
      />
    );
  } else if (overlay?.kind === 'resume') {
    const remaining = (journal: { file: string }) => overlay.journals.filter((j) => j.file !== journal.file);
    const next = (journal: { file: string }) => {
      const rest = remaining(journal);
      ctx.store.dispatch({ type: 'overlay', overlay: rest.length > 0 ? { kind: 'resume', journals: rest } : null });
    };
    dialog = (
      <ResumeDialog
        isActive
        journals={overlay.journals}
        width={Math.max(40, Math.min(width - 4, 76))}
        onResume={(journal) => {
          next(journal);
          runSafely(ctx, async () => {
            await resumeUnfinished(ctx, journal);
          });
        }}
        onDiscard={(journal) => {
          next(journal);
          runSafely(ctx, () => discardUnfinished(ctx, journal));
        }}
        onClose={close}
      />
    );
  }
  // Always the first slot, so the dialog keeps its form while something is on top of it.
  const loginDialog =
    loginOverlay !== undefined && login !== undefined ? (
      <LoginDialog
        isActive={dialog === null}
        recent={lists.recent}
        bookmarks={lists.bookmarks}
        keychain={lists.keychain}
        busy={loginOverlay.busy}
        {...(loginOverlay.initial ? { initial: loginOverlay.initial } : {})}
        {...(loginOverlay.queuePosition === undefined ? {} : { queuePosition: loginOverlay.queuePosition })}
        {...(loginOverlay.error === undefined ? {} : { error: loginOverlay.error })}
        width={Math.max(40, Math.min(width - 4, 70))}
        onSubmit={(values) => runSafely(ctx, () => submitLogin(ctx, login, values, journalDir === undefined ? {} : { journalDir }))}
        {...(login.register
          ? { onRegister: (values: RegisterValues) => login.register!(values, { ask: (peer, hostPort) => askTrust(ctx, peer, hostPort) }) }
          : {})}
        onCancel={close}
      />
    ) : null;
  if (dialog === null && loginDialog === null) return null;
  return (
    <>
      {loginDialog !== null ? (
        <Overlay width={width} height={height}>
          {loginDialog}
        </Overlay>
      ) : null}
      {dialog !== null ? (
        <Overlay width={width} height={height}>
          {dialog}
        </Overlay>
      ) : null}
    </>
  );
}
