/**
 * Splits a CSV stream into raw records (the text of each record, with the line it starts on),
 * following the quoting rules csv-parse applies: a quote opens a quoted field only at the start of
 * a field (after optional blanks), `""` inside one is a quote, and a line break ends a record only
 * outside quotes. Each record is then parsed on its own (csv-import.service.ts), so that a broken
 * record costs exactly that record: it is reported once, with its raw text, and the next record is
 * read normally. (csv-parse's own recovery, skip_records_with_error, could report one broken line
 * twice and swallow the line after it.)
 *
 * A quote still open at the end of the input (or after MAX_RECORD_CHARS) is reported on the line it
 * opened, and reading resumes on the next line.
 */
import { StringDecoder } from 'node:string_decoder';

export interface RawRecord {
  /** The record's text, with its line break. */
  raw: string;
  /** Line (1-based) on which the record starts. */
  line: number;
  /** Bytes of the input consumed up to the end of this record. */
  bytes: number;
  /** Set when the splitter itself found the record broken (a quote never closed). */
  error?: string;
}

export const MAX_RECORD_CHARS = 1024 * 1024;

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

const WAIT = Symbol('wait');

/** The splitter's state: the text not cut into records yet, and the scanner within it. */
class Splitter {
  buf = '';
  bytes = 0;
  /** Line of buf[0]. */
  private line = 1;
  // Scanner state, for the record starting at buf[0]; i is the next character to look at.
  private i = 0;
  private inQuotes = false;
  private fieldStart = true;

  /** Cuts buf[0..end) off as a record. */
  private take(end: number, error?: string): RawRecord {
    const raw = this.buf.slice(0, end);
    this.bytes += Buffer.byteLength(raw);
    const rec: RawRecord = { raw, line: this.line, bytes: this.bytes, ...(error ? { error } : {}) };
    this.line += (raw.match(/\n/g) ?? []).length;
    this.buf = this.buf.slice(end);
    this.i = 0;
    this.inQuotes = false;
    this.fieldStart = true;
    return rec;
  }

  /** The record's quote never closed: its first line is the broken record; read on from the next. */
  private unclosed(): RawRecord {
    const nl = this.buf.indexOf('\n');
    const end = nl === -1 ? this.buf.length : nl + 1;
    return this.take(end, `Quote Not Closed: the quote opened on line ${this.line} is never closed`);
  }

  /** Scans buf from i; yields complete records. `eof`: no more input will come. */
  *scan(eof: boolean): Generator<RawRecord> {
    for (;;) {
      const rec = this.next(eof);
      if (rec === WAIT) return;
      if (rec) {
        yield rec;
        continue;
      }
      if (this.inQuotes && (eof || this.buf.length > MAX_RECORD_CHARS)) {
        yield this.unclosed();
        continue;
      }
      if (eof && this.buf.length > 0) {
        yield this.take(this.buf.length);
        continue;
      }
      return;
    }
  }

  /** The next record ended by a line break outside quotes; null when buf holds none; WAIT: more input decides. */
  private next(eof: boolean): RawRecord | null | typeof WAIT {
    const buf = this.buf;
    for (; this.i < buf.length; this.i++) {
      const c = buf.charCodeAt(this.i);
      if (this.inQuotes) {
        if (c === QUOTE) {
          if (this.i + 1 >= buf.length && !eof) return WAIT; // is it "" or the closing quote? wait for more
          if (buf.charCodeAt(this.i + 1) === QUOTE) this.i++;
          else this.inQuotes = false;
        }
        continue;
      }
      if (c === QUOTE) {
        if (this.fieldStart) this.inQuotes = true;
        this.fieldStart = false; // a quote inside a field is the parser's to refuse
      } else if (c === COMMA) this.fieldStart = true;
      else if (c === LF) return this.take(this.i + 1);
      else if (c !== SPACE && c !== TAB && c !== CR) this.fieldStart = false;
    }
    return null;
  }
}

export async function* rawRecords(input: AsyncIterable<Buffer | string>): AsyncGenerator<RawRecord> {
  const decoder = new StringDecoder('utf8');
  const s = new Splitter();
  let first = true;
  for await (const chunk of input) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        s.bytes += 3;
      }
    }
    s.buf += text;
    yield* s.scan(false);
  }
  s.buf += decoder.end();
  yield* s.scan(true);
}
