/**
 * How the streaming service buffers text (protocol.md §2): it synthesises sentence by sentence, so a
 * sentence is spoken as soon as its end has arrived, while text without a sentence end waits (for the
 * next piece, or for END). A sentence ends at `。！？；!?;…` (a run of them is one end), or at `.`
 * followed by white space (so neither `3.14` nor a `.` that is the last character so far ends one);
 * closing quotes and brackets right after the end belong to the sentence. White space between
 * sentences is dropped. A sentence whose end is the last character received is complete at once, so
 * end or closing marks that the next piece starts with begin the next sentence: waiting for them would
 * hold back every sentence that ends a piece.
 */

const CLOSERS = `"'”’」』）)\\]}】》〉`;
const SENTENCE_END = new RegExp(`[。！？；!?;…]+[${CLOSERS}]*|\\.[${CLOSERS}]*(?=\\s)`, 'gu');
/** A `.` (and closers) at the very end: white space may still come and make it a sentence end. */
const PENDING_END = new RegExp(`\\.[${CLOSERS}]*$`, 'u');

/** The text a streaming session has received and not yet synthesised. */
export class SentenceBuffer {
  private text = '';
  // No sentence end starts before this index of `text`: scanning resumes here.
  private from = 0;

  /** Adds a piece; returns the sentences it completed, in order. */
  push(piece: string): string[] {
    this.text += piece;
    const sentences: string[] = [];
    const ends = new RegExp(SENTENCE_END);
    ends.lastIndex = this.from;
    let start = 0;
    for (let end = ends.exec(this.text); end !== null; end = ends.exec(this.text)) {
      const stop = end.index + end[0].length;
      const sentence = this.text.slice(start, stop).trimStart();
      if (sentence !== '') sentences.push(sentence);
      start = stop;
    }
    this.text = this.text.slice(start).trimStart();
    this.from = PENDING_END.exec(this.text)?.index ?? this.text.length;
    return sentences;
  }

  /** Empties the buffer; returns what waited (END speaks it), without surrounding white space. */
  flush(): string {
    const tail = this.text.trim();
    this.text = '';
    this.from = 0;
    return tail;
  }
}
