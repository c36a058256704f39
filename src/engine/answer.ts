// How an answer is read off the generated text and scored, as the reference code does.

/**
 * The reference scoring's view of an answer: the text after the last marker, stripped. Without a
 * marker it is the whole text, stripped (what a reader wants to see; eval scores that as wrong,
 * as the reference does, since its split would keep the question in front).
 */
export function extractAnswer(text: string, marker: string): string {
  const at = text.lastIndexOf(marker);
  return (at >= 0 ? text.slice(at + marker.length) : text).trim();
}

/**
 * Reference-code equality: commas removed, whitespace stripped, exact match. `normalize` is the
 * model tokenizer's normalizer: a model reads and writes text in that form, so the expected
 * answer is compared in it too.
 */
export function answersMatch(predicted: string, expected: string, normalize: (s: string) => string = (s) => s): boolean {
  const norm = (s: string) => normalize(s).replace(/,/g, '').trim();
  return norm(predicted) === norm(expected);
}

/** A run is correct when it wrote the answer marker and the text after it matches. */
export function scoreText(text: string, expected: string, marker: string, normalize?: (s: string) => string): boolean {
  return text.includes(marker) && answersMatch(extractAnswer(text, marker), expected, normalize);
}

/** The model's own scoring: its answer marker, and its tokenizer's normalizer on both sides. */
export interface ScoringModel {
  tokenizer: { normalize(text: string): string };
  manifest: { prompt: { answer_marker: string } };
}

export function scoreForModel(model: ScoringModel, text: string, expected: string): boolean {
  return scoreText(text, expected, model.manifest.prompt.answer_marker, (s) => model.tokenizer.normalize(s));
}
