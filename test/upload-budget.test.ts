import test from 'ava';
import { UploadBudget, type BudgetMember } from '../server/session/upload-budget.js';

/** A member that records what the budget told it. */
function member(): BudgetMember & { calls: string[] } {
  const calls: string[] = [];
  return { calls, pauseForBudget: () => calls.push('pause'), resumeFromBudget: () => calls.push('resume') };
}

test('past the limit the member that adds is paused once; at half the limit every paused member resumes', (t) => {
  const budget = new UploadBudget(100);
  const a = member();
  const b = member();
  budget.add(a, 60);
  budget.add(b, 30);
  t.deepEqual([a.calls, b.calls], [[], []], 'under the limit nobody pauses');
  budget.add(b, 20);
  budget.add(b, 5);
  t.deepEqual(b.calls, ['pause'], 'paused once, however much more it adds');
  budget.add(a, 1);
  t.deepEqual(a.calls, ['pause']);
  budget.release(60);
  t.deepEqual([a.calls, b.calls], [['pause'], ['pause']], '56 held: still over half the limit');
  budget.release(10);
  t.deepEqual([a.calls, b.calls], [['pause', 'resume'], ['pause', 'resume']]);
  t.is(budget.held, 46);
});

test('a member that left is not resumed', (t) => {
  const budget = new UploadBudget(10);
  const gone = member();
  budget.add(gone, 20);
  budget.forget(gone);
  budget.release(20);
  t.deepEqual(gone.calls, ['pause']);
  t.is(budget.held, 0);
});
