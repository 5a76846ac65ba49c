/**
 * JSON records on a real fs store in a temporary directory: what is written
 * reads back, a damaged record is DATA_LOSS naming its key, and listings page
 * with one key more and opaque tokens.
 */
import assert from "node:assert/strict";
import {
  fieldsProblem,
  listRecords,
  readRecord,
  type RecordShape,
  writeRecord,
} from "../../src/storage/records.ts";
import { tempFsStore } from "../support/temp_fs_store.ts";

const setup = () => tempFsStore("pulse-records-");

interface Note {
  text: string;
  at: string;
}

const NOTE: RecordShape<Note> = {
  name: "note",
  problem: (value) => fieldsProblem(value, { text: "string", at: "date" }),
};

const note = (i: number): Note => ({ text: `note ${i}`, at: new Date(i * 1000).toISOString() });

Deno.test("writeRecord() then readRecord() gives the record back; an absent key gives undefined", async () => {
  await using s = await setup();
  await writeRecord(s.store, "notes/a.json", note(1));
  assert.deepEqual(await readRecord(s.store, "notes/a.json", NOTE), note(1));
  assert.equal(await readRecord(s.store, "notes/b.json", NOTE), undefined);
});

Deno.test("readRecord() of a damaged record is DATA_LOSS naming the key and the problem", async (t) => {
  await using s = await setup();
  const damaged: [string, string, string][] = [
    ["not JSON", "{not json", "not a JSON object"],
    ["not an object", "[1, 2]", "not a JSON object"],
    ["a field missing", JSON.stringify({ at: note(1).at }), "text is not a string"],
    ["a bad date", JSON.stringify({ ...note(1), at: "yesterday" }), "at is not a date"],
  ];
  for (const [name, text, problem] of damaged) {
    await t.step(name, async () => {
      await s.store.put("notes/bad.json", new TextEncoder().encode(text));
      await assert.rejects(readRecord(s.store, "notes/bad.json", NOTE), {
        name: "PulseError",
        code: "DATA_LOSS",
        message: `Cannot read note notes/bad.json: ${problem}`,
      });
    });
  }
});

Deno.test("listRecords() pages through the records under a prefix in key order", async () => {
  await using s = await setup();
  for (let i = 0; i < 5; i++) await writeRecord(s.store, `notes/${i}.json`, note(i));
  await writeRecord(s.store, "other/0.json", note(9));
  const request = { action: "list notes", prefix: "notes/", pageSize: 2, pageToken: "" };
  const first = await listRecords(s.store, NOTE, request);
  const second = await listRecords(s.store, NOTE, { ...request, pageToken: first.nextPageToken });
  const third = await listRecords(s.store, NOTE, { ...request, pageToken: second.nextPageToken });
  assert.deepEqual(
    [...first.records, ...second.records, ...third.records],
    [0, 1, 2, 3, 4].map(note),
  );
  assert.notEqual(first.nextPageToken, "");
  assert.equal(third.nextPageToken, "");
  // Exactly one page's worth: no next page.
  assert.equal((await listRecords(s.store, NOTE, { ...request, pageSize: 5 })).nextPageToken, "");
  // Page size 0 is the default, which holds them all.
  assert.equal((await listRecords(s.store, NOTE, { ...request, pageSize: 0 })).records.length, 5);
});

Deno.test("listRecords() refuses a page token of another listing and fails on a damaged record", async () => {
  await using s = await setup();
  await writeRecord(s.store, "notes/0.json", note(0));
  await writeRecord(s.store, "other/0.json", note(1));
  await writeRecord(s.store, "other/1.json", note(2));
  const other = await listRecords(s.store, NOTE, {
    action: "list others",
    prefix: "other/",
    pageSize: 1,
    pageToken: "",
  });
  await assert.rejects(
    listRecords(s.store, NOTE, {
      action: "list notes",
      prefix: "notes/",
      pageSize: 1,
      pageToken: other.nextPageToken,
    }),
    { code: "INVALID_ARGUMENT", message: "Cannot list notes: page_token is not valid here" },
  );
  await s.store.put("notes/1.json", new TextEncoder().encode("{}"));
  await assert.rejects(
    listRecords(s.store, NOTE, {
      action: "list notes",
      prefix: "notes/",
      pageSize: 0,
      pageToken: "",
    }),
    { code: "DATA_LOSS", message: "Cannot read note notes/1.json: text is not a string" },
  );
});

Deno.test("fieldsProblem() names the first field missing or of another type", () => {
  const fields = { s: "string", d: "date", i: "integer", b: "boolean", o: "object" } as const;
  const good = { s: "x", d: "2026-01-01T00:00:00Z", i: 3, b: false, o: {} };
  assert.equal(fieldsProblem(good, fields), undefined);
  assert.equal(fieldsProblem(null, fields), "not a JSON object");
  assert.equal(fieldsProblem("x", fields), "not a JSON object");
  assert.equal(fieldsProblem([good], fields), "not a JSON object");
  assert.equal(fieldsProblem({ ...good, s: 1 }, fields), "s is not a string");
  assert.equal(fieldsProblem({ ...good, d: "soon" }, fields), "d is not a date");
  assert.equal(fieldsProblem({ ...good, i: 1.5 }, fields), "i is not an integer");
  assert.equal(fieldsProblem({ ...good, b: "no" }, fields), "b is not a boolean");
  assert.equal(fieldsProblem({ ...good, o: null }, fields), "o is not an object");
  assert.equal(
    fieldsProblem({ ...good, i: undefined, b: undefined }, fields),
    "i is not an integer",
  );
});
