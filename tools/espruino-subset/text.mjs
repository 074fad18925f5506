// Offsets, lines and columns in source text.

/** Offsets at which each line starts. */
export function lineStarts(s) {
  const starts = [0];
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line, 0-based column of an offset. */
export function toLineCol(starts, pos) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: pos - starts[lo] };
}

/** The first occurrence of `token` at or after `from` (within 400 characters), as a whole word for names. */
export function findToken(text, from, token) {
  const word = /^[\w$#]+$/.test(token);
  const end = Math.min(text.length, from + 400);
  for (let i = text.indexOf(token, from); i >= 0 && i < end; i = text.indexOf(token, i + 1)) {
    if (!word || (!/[\w$]/.test(text[i - 1] ?? "") && !/[\w$]/.test(text[i + token.length] ?? ""))) return i;
  }
  return from;
}
