/** Where a line came from: the file it was read from and, when known, its 1-based line number there. */
export interface LineRef {
  file: string;
  lineNo?: number;
}

/** One complete line read from a followed log file, without its trailing newline. */
export interface FollowedLine extends LineRef {
  line: string;
}

/** Something a parser or follower could not make sense of; never fatal. */
export interface ParseWarning extends LineRef {
  message: string;
}

/** `file:lineNo` (or just `file`) for messages. */
export function formatLineRef(ref: LineRef): string {
  return ref.lineNo === undefined ? ref.file : `${ref.file}:${ref.lineNo}`;
}

/** A warning naming the file and line, with the offending text shortened for logs. */
export function warningAt(ref: LineRef, message: string, text?: string): ParseWarning {
  const shown = text === undefined ? "" : `: ${JSON.stringify(abbreviate(text, 120))}`;
  const warning: ParseWarning = { file: ref.file, message: `${formatLineRef(ref)}: ${message}${shown}` };
  if (ref.lineNo !== undefined) warning.lineNo = ref.lineNo;
  return warning;
}

/** `text` cut to `max` characters with an ellipsis and the original length, for logs. */
export function abbreviate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
