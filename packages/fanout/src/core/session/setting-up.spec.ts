import { AsyncLocalStorage } from 'async_hooks';
import { beginSetup, sessionsSettingUp, whenSetupsEnd } from './setting-up';

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe('work that waits for the sessions setting up', () => {
  it('runs on a later turn when no session is setting up', async () => {
    const ran: string[] = [];
    whenSetupsEnd(() => ran.push('warm'));
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual(['warm']);
  });

  it('waits until every session setting up has ended its setup, and ending one twice counts once', async () => {
    const ran: string[] = [];
    const first = beginSetup();
    const second = beginSetup();
    expect(sessionsSettingUp()).toBe(2);
    whenSetupsEnd(() => ran.push('warm'));
    first();
    first();
    await nextTurn();
    expect(sessionsSettingUp()).toBe(1);
    expect(ran).toEqual([]);
    second();
    expect(sessionsSettingUp()).toBe(0);
    await nextTurn();
    expect(ran).toEqual(['warm']);
  });

  it('never runs once cancelled, whether it was waiting or already due', async () => {
    const ran: string[] = [];
    const end = beginSetup();
    const cancelWaiting = whenSetupsEnd(() => ran.push('waiting'));
    cancelWaiting();
    end();
    const cancelDue = whenSetupsEnd(() => ran.push('due'));
    cancelDue();
    await nextTurn();
    expect(ran).toEqual([]);
  });

  it("runs in the context of the session that asked for it, not of the one whose setup ended last: its output and errors stay that session's", async () => {
    const session = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const endOthersSetup = session.run('other', () => beginSetup());
    session.run('asking', () => whenSetupsEnd(() => seen.push(session.getStore())));
    session.run('other', () => endOthersSetup());
    await nextTurn();
    expect(seen).toEqual(['asking']);
  });
});
