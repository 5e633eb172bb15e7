import { decideLanding, DELETED, keptLine } from './decide';

const S = 'session';
const B = 'base';
const U = 'users-edit';
const L = 'landed-before';

describe('decideLanding', () => {
  describe('a file the session wrote', () => {
    it('as left: the workspace still holds what the session started from, so the session version is written', () => {
      expect(decideLanding({ session: S, base: B, workspace: B })).toEqual({ action: 'write' });
    });

    it('absent: a new file in a fresh clone (no landing here, not at the base) is written', () => {
      expect(decideLanding({ session: S, base: undefined, workspace: undefined })).toEqual({ action: 'write' });
    });

    it('in place: the workspace already holds the session version, nothing to do', () => {
      expect(decideLanding({ session: S, base: B, workspace: S })).toEqual({ action: 'in-place' });
      expect(decideLanding({ session: S, base: undefined, workspace: S, landed: { sha256: S, sameRecord: true } })).toEqual({
        action: 'in-place',
      });
    });

    it('as fanout left it: an earlier session landed this file and nobody changed it since, so the new version replaces it', () => {
      expect(decideLanding({ session: S, base: B, workspace: L, landed: { sha256: L, sameRecord: false } })).toEqual({ action: 'write' });
    });

    it('changed since: this record landed it before and the file differs now, so the edit is the user’s and stays', () => {
      expect(decideLanding({ session: S, base: undefined, workspace: U, landed: { sha256: S, sameRecord: true } })).toEqual({
        action: 'keep',
        reason: 'changed-since',
      });
      // Even a user who set the file back to what the session started from keeps it.
      expect(decideLanding({ session: S, base: B, workspace: B, landed: { sha256: S, sameRecord: true } })).toEqual({
        action: 'keep',
        reason: 'changed-since',
      });
    });

    it('changed since: without a landing here, a file that is neither the base nor the session version is the user’s', () => {
      expect(decideLanding({ session: S, base: B, workspace: U })).toEqual({ action: 'keep', reason: 'changed-since' });
    });

    it('never ours: a file fanout never wrote, at a path the session also wrote, stays (untracked or tracked alike)', () => {
      expect(decideLanding({ session: S, base: undefined, workspace: U })).toEqual({ action: 'keep', reason: 'not-ours' });
    });

    it('deleted since: a file this record landed and the user deleted is not restored', () => {
      expect(decideLanding({ session: S, base: undefined, workspace: undefined, landed: { sha256: S, sameRecord: true } })).toEqual({
        action: 'keep',
        reason: 'deleted-since',
      });
      expect(decideLanding({ session: S, base: B, workspace: undefined, landed: { sha256: L, sameRecord: false } })).toEqual({
        action: 'keep',
        reason: 'deleted-since',
      });
    });

    it('deleted since: a file the session modified that is gone now is not brought back', () => {
      expect(decideLanding({ session: S, base: B, workspace: undefined })).toEqual({ action: 'keep', reason: 'deleted-since' });
    });

    it('a file an earlier landing deleted, absent now, is written again by a session that writes it', () => {
      expect(decideLanding({ session: S, base: B, workspace: undefined, landed: { sha256: DELETED, sameRecord: false } })).toEqual({
        action: 'write',
      });
    });
  });

  describe('a file the session deleted', () => {
    it('deletes it when it is as the session found it, or as fanout left it', () => {
      expect(decideLanding({ session: undefined, base: B, workspace: B })).toEqual({ action: 'delete' });
      expect(decideLanding({ session: undefined, base: B, workspace: L, landed: { sha256: L, sameRecord: false } })).toEqual({
        action: 'delete',
      });
    });

    it('is in place when the file is already gone', () => {
      expect(decideLanding({ session: undefined, base: B, workspace: undefined })).toEqual({ action: 'in-place' });
    });

    it('keeps a file the user changed, or restored after this record deleted it', () => {
      expect(decideLanding({ session: undefined, base: B, workspace: U })).toEqual({ action: 'keep', reason: 'changed-since' });
      expect(decideLanding({ session: undefined, base: B, workspace: B, landed: { sha256: DELETED, sameRecord: true } })).toEqual({
        action: 'keep',
        reason: 'changed-since',
      });
    });
  });

  it('says what it kept and where the session version is', () => {
    expect(keptLine('libs/orders/src/a.ts', 'changed-since', '.fanout/sessions/orders/files/libs/orders/src/a.ts', 'orders')).toBe(
      "kept your edit of libs/orders/src/a.ts; the session's version is in .fanout/sessions/orders/files/libs/orders/src/a.ts " +
        '(nx g fanout:take orders --files=libs/orders/src/a.ts takes it)',
    );
    expect(keptLine('a.ts', 'deleted-since', 'x', 'orders')).toMatch(/^kept your deletion of a\.ts/);
    expect(keptLine('a.ts', 'not-ours', 'x', 'orders')).toMatch(/^kept your a\.ts, which fanout did not write/);
  });
});
