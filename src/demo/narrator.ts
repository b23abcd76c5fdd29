/** Prints the demo's story: elapsed seconds, then a line; headings stand out. */
export class Narrator {
  private readonly started = performance.now();

  constructor(private readonly write: (text: string) => void = (t) => process.stdout.write(t)) {}

  heading(text: string): void {
    this.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
  }

  say(text: string): void {
    const t = ((performance.now() - this.started) / 1000).toFixed(1).padStart(5);
    this.write(`[${t}s] ${text}\n`);
  }

  /** An indented block (a table, a journal excerpt). */
  block(text: string): void {
    this.write(`${text.split("\n").map((l) => `         ${l}`).join("\n")}\n`);
  }

  elapsedSec(): number {
    return (performance.now() - this.started) / 1000;
  }
}
