import { appendSectionOnce, CONVENTIONS_SECTION, SECTION_START } from './conventions';

describe('appendSectionOnce', () => {
  it('writes the section alone into a new file', () => {
    expect(appendSectionOnce(undefined, CONVENTIONS_SECTION)).toBe(CONVENTIONS_SECTION);
  });

  it('appends after existing text, separated by a blank line, keeping the text', () => {
    const existing = '# Our rules\n\nBe kind.';
    const result = appendSectionOnce(existing, CONVENTIONS_SECTION);
    expect(result).toBe(`${existing}\n\n${CONVENTIONS_SECTION}`);
  });

  it('does nothing when the section is already there', () => {
    const existing = `# Ours\n\n${SECTION_START}\nold text\n<!-- fanout:end -->\n`;
    expect(appendSectionOnce(existing, CONVENTIONS_SECTION)).toBeUndefined();
  });
});
