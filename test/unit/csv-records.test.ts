/** The CSV record splitter (src/modules/csv/records.ts) and per-record parsing: each broken record costs itself only. */
import { Readable } from 'node:stream';
import { parseRawRecord, rawFields } from '../../src/modules/csv/csv-import.service';
import { rawRecords, type RawRecord } from '../../src/modules/csv/records';

async function split(chunks: (string | Buffer)[]): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  for await (const r of rawRecords(Readable.from(chunks))) out.push(r);
  return out;
}

test('records end at line breaks outside quotes, with the line they start on and the bytes read', async () => {
  const text = 'a,b\n"x\ny",2\n"he said ""hi""",3\nlast,4';
  const recs = await split([text]);
  expect(recs.map((r) => [r.line, r.raw])).toEqual([
    [1, 'a,b\n'],
    [2, '"x\ny",2\n'],
    [4, '"he said ""hi""",3\n'],
    [5, 'last,4'],
  ]);
  expect(recs.at(-1)!.bytes).toBe(Buffer.byteLength(text));
  // The same, cut anywhere (even inside "" and multi-byte characters).
  const bytes = Buffer.from(`\ufeffé,"q""\n"\nz,1\n`);
  for (let cut = 1; cut < bytes.length; cut++) {
    const r = await split([bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(r.map((x) => x.raw)).toEqual(['é,"q""\n"\n', 'z,1\n']);
    expect(r.at(-1)!.bytes).toBe(bytes.length);
  }
});

test('a quote left open is reported on its own line, and reading resumes on the next line', async () => {
  const recs = await split(['h\n"open,1\nnext,2\n']);
  expect(recs.map((r) => [r.line, r.raw, !!r.error])).toEqual([
    [1, 'h\n', false],
    [2, '"open,1\n', true],
    [3, 'next,2\n', false],
  ]);
});

test('a quote inside a field does not open a quoted field; the parser refuses that record alone', async () => {
  const recs = await split(['a"b,1\nc,2\n']);
  expect(recs.map((r) => r.raw)).toEqual(['a"b,1\n', 'c,2\n']);
  const bad = parseRawRecord(recs[0].raw, 7);
  expect(bad).toMatchObject({ code: 'CSV_PARSE_ERROR', message: expect.stringMatching(/line 7/) });
  expect(parseRawRecord('"B"x,W,2\n', 3)).toMatchObject({
    code: 'CSV_PARSE_ERROR',
    message: expect.stringMatching(/Invalid Closing Quote.*line 3/),
  });
  expect(parseRawRecord(' x , "y, z" \r\n', 1)).toEqual(['x', 'y, z']);
  expect(parseRawRecord('   \n', 1)).toBeNull();
  expect(rawFields('"B"x,W,2\r\n')).toEqual(['"B"x', 'W', '2']);
});
