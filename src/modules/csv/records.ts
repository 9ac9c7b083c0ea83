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

export async function* rawRecords(input: AsyncIterable<Buffer | string>): AsyncGenerator<RawRecord> {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let first = true;
  let bytes = 0;
  let line = 1; // line of buf[0]
  // Scanner state, for the record starting at buf[0]; i is the next character to look at.
  let i = 0;
  let inQuotes = false;
  let fieldStart = true;

  const reset = () => {
    inQuotes = false;
    fieldStart = true;
  };
  /** Cuts buf[0..end) off as a record. */
  const take = (end: number, error?: string): RawRecord => {
    const raw = buf.slice(0, end);
    bytes += Buffer.byteLength(raw);
    const rec: RawRecord = { raw, line, bytes, ...(error ? { error } : {}) };
    line += (raw.match(/\n/g) ?? []).length;
    buf = buf.slice(end);
    i = 0;
    reset();
    return rec;
  };
  /** The record's quote never closed: its first line is the broken record; read on from the next. */
  const unclosed = (): RawRecord => {
    const nl = buf.indexOf('\n');
    const end = nl === -1 ? buf.length : nl + 1;
    return take(end, `Quote Not Closed: the quote opened on line ${line} is never closed`);
  };

  /** Scans buf from i; yields complete records. `eof`: no more input will come. */
  function* scan(eof: boolean): Generator<RawRecord> {
    for (;;) {
      for (; i < buf.length; i++) {
        const c = buf.charCodeAt(i);
        if (inQuotes) {
          if (c === QUOTE) {
            if (i + 1 >= buf.length && !eof) return; // is it "" or the closing quote? wait for more
            if (buf.charCodeAt(i + 1) === QUOTE) i++;
            else inQuotes = false;
          }
          continue;
        }
        if (c === QUOTE) {
          if (fieldStart) inQuotes = true;
          fieldStart = false; // a quote inside a field is the parser's to refuse
        } else if (c === COMMA) fieldStart = true;
        else if (c === LF) {
          yield take(i + 1);
          i = -1; // the loop's i++ makes it 0
        } else if (c !== SPACE && c !== TAB && c !== CR) fieldStart = false;
      }
      if (inQuotes && (eof || buf.length > MAX_RECORD_CHARS)) {
        yield unclosed();
        continue;
      }
      if (eof && buf.length > 0) {
        yield take(buf.length);
        continue;
      }
      return;
    }
  }

  for await (const chunk of input) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        bytes += 3;
      }
    }
    buf += text;
    yield* scan(false);
  }
  buf += decoder.end();
  yield* scan(true);
}
