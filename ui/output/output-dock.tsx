import { Box } from 'ink';
import type { CommandContext } from '../commands/context.js';
import { CommandLine } from '../components/command-line.js';
import { useStore } from '../use-store.js';
import { OutputPanel } from './output-panel.js';
import { useOutputRuns } from './output-store.js';
import { outputPanelRows, remoteTarget, runCommandLine, type OutputFeature, type OutputUiState } from './output-ui.js';

/**
 * Rows the dock takes on a screen `height` rows high: the panel (a third of the screen, or all
 * of `height` full screen) and one row for the open command line. 0 when neither is shown.
 */
export function outputDockRows(ui: OutputUiState, height: number): number {
  const line = ui.focus === 'command' ? 1 : 0;
  if (ui.fullScreen) return height;
  return (ui.panel ? outputPanelRows(height) : 0) + line;
}

export interface OutputDockProps {
  ctx: CommandContext;
  feature: OutputFeature;
  width: number;
  /** outputDockRows(…) of the same state. */
  height: number;
  /** Something above (a dialog) has the input. */
  blocked: boolean;
}

/**
 * The output panel and the command line under it, as the App places them below the panes (or
 * over the whole screen when full screen). Keys go to the command line when it is open, else to
 * the panel when it has the focus.
 */
export function OutputDock({ ctx, feature, width, height, blocked }: OutputDockProps) {
  const ui = useStore(feature.ui);
  const snapshot = useOutputRuns(feature.runs);
  const app = useStore(ctx.store);
  const commandOpen = ui.focus === 'command';
  const panelRows = height - (commandOpen ? 1 : 0);
  const target = remoteTarget(app);
  const where = target === undefined ? '(not connected)' : target.where;
  return (
    <Box flexDirection="column" width={width} height={height}>
      {(ui.panel || ui.fullScreen) && panelRows > 0 ? (
        <OutputPanel
          snapshot={snapshot}
          width={width}
          height={panelRows}
          isActive={!blocked && ui.focus === 'output'}
          fullScreen={ui.fullScreen}
          onCancel={() => feature.runs.cancel()}
          onClose={() => feature.ui.dispatch({ type: 'hide' })}
          onToggleFullScreen={() => feature.ui.dispatch({ type: 'toggle-full-screen' })}
          onCommandLine={() => feature.ui.dispatch({ type: 'open-command' })}
        />
      ) : null}
      {commandOpen ? (
        <CommandLine
          isActive={!blocked}
          width={width}
          where={where}
          history={ui.history}
          onRun={(argv, line) => void runCommandLine(ctx, feature, argv, line)}
          onClose={() => feature.ui.dispatch({ type: 'close-command' })}
        />
      ) : null}
    </Box>
  );
}
