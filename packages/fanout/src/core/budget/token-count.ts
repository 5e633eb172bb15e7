/**
 * A token count without a tokenizer: fanout ships none (each provider's differs, and Anthropic
 * publishes none for its current models), and the estimate needs only the size of the prompt.
 *
 * The text is cut where byte-pair tokenizers cut it: words, split again at camelCase humps
 * (`createNodesFromFiles` is four pieces); runs of digits, three digits a token; each
 * punctuation mark; each line break; each run of two or more spaces (indentation; a single
 * space goes with the word after it); and each CJK character. A piece of up to eight letters
 * counts as one token, a longer one as one per eight letters started. Characters / 4 counts
 * prose about as well, and code lower: code has more punctuation per character.
 *
 * How far to trust it: a heuristic, for the order of magnitude. Expect it within about a quarter
 * of a provider's own count for English and TypeScript, further off for other scripts. Claude's
 * tokenizer since its 4.7 models counts the same text about 30 % higher than before, so the
 * estimate widens its range by TOKEN_COUNT_SPREAD (estimate.ts).
 */
export function approxTokens(text: string): number {
  let tokens = 0;
  const pieces = text.match(
    /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}|\p{L}+|\p{N}+|[ \t]+|\r?\n|[^\p{L}\p{N}\s]/gu,
  );
  for (const piece of pieces ?? []) {
    if (/^\p{L}/u.test(piece) && piece.length > 1) {
      // Humps: "createNodes" → "create", "Nodes"; "HTTPServer" → "HTTP", "Server".
      const humps = piece.split(/(?<=\p{Ll})(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u);
      for (const hump of humps) tokens += Math.ceil(hump.length / 8);
    } else if (/^\p{N}/u.test(piece)) {
      // Tokenizers take digits up to three at a time.
      tokens += Math.ceil(piece.length / 3);
    } else if (piece !== ' ' && piece !== '\t') {
      tokens += 1;
    }
  }
  return tokens;
}
