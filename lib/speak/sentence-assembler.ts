/**
 * The state machine behind `sentences()`: text fragments in, pieces to speak out.
 *
 *   push(fragment) ──► scan from where the last scan stopped ──► boundary within maxLength? ──► emit
 *        ▲                     │ undecided (a mark or whitespace at the end of the buffer)      │
 *        └──── wait ◄──────────┘ or too long and the lookahead window not yet full ◄── cutLong ◄┘
 *   end() ──► the same, with the end of the text deciding what was undecided; then the rest
 *
 * The buffer always starts at the current piece (leading whitespace is dropped), and the scan goes on
 * from where it stopped, so each character is looked at a bounded number of times.
 * Every decision depends on the text alone, never on where the fragments were cut.
 */
import { codePointAt, graphemeBreakAt, isSpace, scanAt } from './boundaries.js';
import { cutLong, indexAfterCodePoints } from './cut-long.js';

/**
 * How far past `maxLength` a long sentence is read before it is cut, so that the word boundaries near
 * the limit are those of the text and not of where the buffer happens to end.
 */
export const LOOKAHEAD = 16;
const SPEAKABLE = /[\p{L}\p{N}]/u;

/** The options of {@link SentenceAssembler}, validated and defaulted by `sentences()`. */
export interface AssemblerOptions {
  readonly maxLength: number;
  /** Undefined: the first piece ends at a sentence end like any other. */
  readonly firstClauseMinLength: number | undefined;
}

/** Pure and synchronous: `sentences()` is this class driven by an Observable. */
export class SentenceAssembler {
  private text = '';
  private heldSurrogate = '';
  /** How far `text` has been scanned without finding a cut, in code units and in code points. */
  private scanned = 0;
  private scannedCodePoints = 0;
  /** Whether `text[0, scanned)` holds a letter or digit: a piece without one is not worth a session. */
  private speakable = false;
  private first = true;
  private ended = false;

  constructor(private readonly options: AssemblerOptions) {}

  /** Adds a fragment; returns the pieces it completes. */
  push(fragment: string): string[] {
    const text = this.heldSurrogate + fragment;
    // A pair of surrogates cut between two fragments is one character: wait for its second half.
    const last = text.charCodeAt(text.length - 1);
    const split = last >= 0xd800 && last <= 0xdbff;
    this.heldSurrogate = split ? text.slice(-1) : '';
    this.text += split ? text.slice(0, -1) : text;
    return this.drain();
  }

  /** The text is complete: returns the remaining pieces. */
  end(): string[] {
    this.text += this.heldSurrogate;
    this.heldSurrogate = '';
    this.ended = true;
    return this.drain();
  }

  private drain(): string[] {
    const pieces: string[] = [];
    for (;;) {
      this.dropLeadingSpace();
      if (this.text === '') return pieces;
      const cut = this.findCut();
      if (cut === undefined) return pieces;
      const piece = this.text.slice(0, cut);
      // Only a grapheme longer than maxLength, cut at the limit, can leave whitespace alone.
      if (piece.trim() !== '') {
        pieces.push(piece);
        this.first = false;
      }
      this.text = this.text.slice(cut);
      this.scanned = 0;
      this.scannedCodePoints = 0;
      this.speakable = false;
    }
  }

  /**
   * Whitespace before a piece is dropped, so that pieces start with a word, except a last space that a
   * combining character after it belongs to. While only whitespace has come, that last one waits.
   */
  private dropLeadingSpace(): void {
    if (this.scanned > 0 || !isSpace(this.text.charAt(0))) return;
    let start = 0;
    while (start < this.text.length && isSpace(this.text.charAt(start))) start++;
    if (start === this.text.length && this.ended) {
      this.text = '';
      return;
    }
    const keepLast = start === this.text.length || !graphemeBreakAt(this.text, start);
    this.text = this.text.slice(keepLast ? start - 1 : start);
  }

  /** The code-unit index to cut at, or undefined to wait for more text. */
  private findCut(): number | undefined {
    const { maxLength, firstClauseMinLength } = this.options;
    while (this.scanned < this.text.length && this.scannedCodePoints <= maxLength) {
      const step = scanAt(this.text, this.scanned, this.ended);
      if (step.type === 'more') return this.windowFull() ? this.cutLong() : undefined;
      if (step.type === 'boundary') {
        // The run's marks and whitespace are one code unit each.
        const length = this.scannedCodePoints + (step.end - this.scanned);
        const taken =
          this.speakable &&
          (step.kind === 'sentence' ||
            (this.first && firstClauseMinLength !== undefined && this.scannedCodePoints + (step.markEnd - this.scanned) >= firstClauseMinLength));
        if (taken && length <= maxLength) return step.end;
        if (taken) return this.windowFull() ? this.cutLong() : undefined;
        // A clause mark not taken may still be followed by a line break, which is a sentence end.
        this.advanceTo(step.kind === 'clause' ? step.markEnd : step.end);
      } else {
        this.advanceTo(step.next);
      }
    }
    if (this.scannedCodePoints <= maxLength) return this.ended ? this.text.length : undefined;
    return this.windowFull() ? this.cutLong() : undefined;
  }

  private advanceTo(next: number): void {
    while (this.scanned < next) {
      const c = codePointAt(this.text, this.scanned);
      if (!this.speakable && SPEAKABLE.test(c)) this.speakable = true;
      this.scanned += c.length;
      this.scannedCodePoints++;
    }
  }

  /** Whether the text holds enough past the limit for `cutLong` to see what it needs. */
  private windowFull(): boolean {
    const window = this.options.maxLength + LOOKAHEAD;
    // A code point is one or two code units: a shorter text cannot hold the window, a longer one is counted.
    return this.ended || (this.text.length >= window && indexAfterCodePoints(this.text, window - 1) < this.text.length);
  }

  private cutLong(): number {
    return cutLong(this.text.slice(0, indexAfterCodePoints(this.text, this.options.maxLength + LOOKAHEAD)), this.options.maxLength);
  }
}
