import type { VerifyRepairRecord, WholeRepair } from '../verify/repair-record';
import { formatCost, formatDuration, formatTokens } from './figures';

/** The words both renderers use for what fanout-verify did about a failed task. */

const VERDICTS: Record<VerifyRepairRecord['verdict'], string> = {
  repaired: 'repaired',
  'still-failing': 'still failing after the repairs',
  'failing-before': 'failing before the fan-out: nobody was asked to repair it',
  'not-attributed': 'no session of the run reached it',
  'not-repaired': 'not repaired',
};

export function verdictText(record: VerifyRepairRecord): string {
  return VERDICTS[record.verdict];
}

const MODES: Record<WholeRepair['mode'], string> = {
  resumed: 'its conversation resumed',
  restarted: 'its agent run again with the feedback',
  fresh: 'a new conversation given its assignment, its diff and the failure',
  none: 'not run',
};

/** One line for a repair: who, how, what came of it, its time, cost and files, and its gate. */
export function repairLine(repair: WholeRepair): string {
  const parts = [`round ${repair.round}, ${repair.session}: ${repair.outcome}`];
  if (repair.mode !== 'none') parts.push(MODES[repair.mode]);
  if (repair.agentMs !== undefined) parts.push(`agent ${formatDuration(repair.agentMs)}`);
  if (repair.costUsd !== undefined) parts.push(`cost ${formatCost(repair.costUsd)}`);
  if (repair.tokens) parts.push(`tokens ${formatTokens(repair.tokens)}`);
  if (repair.files && repair.files.length > 0) {
    parts.push(`changed ${repair.files.map((file) => `${file.path}${file.wired ? ' (wired)' : ''}`).join(', ')}`);
  }
  if (repair.gate && repair.gate.length > 0) {
    parts.push(`gate ${repair.gate.map((target) => `${target.target} ${target.ok ? 'passed' : 'failed'}`).join(', ')}`);
  }
  return `${parts.join('; ')}${repair.message ? ` (${repair.message})` : ''}`;
}
