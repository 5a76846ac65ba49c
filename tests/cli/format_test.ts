/** The CLI's text helpers: durations both ways, byte sizes, tables and the progress bar. */
import assert from "node:assert/strict";
import {
  formatBytes,
  formatDuration,
  formatFields,
  formatTable,
  parseDuration,
} from "../../src/cli/format.ts";
import { ProgressBar } from "../../src/cli/progress_bar.ts";

Deno.test("parseDuration() reads 90s, 30m, 1h, 1h30m, 250ms, 2d and 0; rejects the rest", () => {
  const cases: [string, number | undefined][] = [
    ["90s", 90_000],
    ["30m", 1_800_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["2d", 172_800_000],
    ["0", 0],
    ["0s", 0],
    ["", undefined],
    ["90", undefined],
    ["1.5h", undefined],
    ["-1h", undefined],
    ["1 h", undefined],
    ["1x", undefined],
    ["h", undefined],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

Deno.test("formatDuration() uses the largest units that fit", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(90_061_000), "1d1h1m1s");
});

Deno.test("formatBytes() is exact below 1 KiB and uses binary units above", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(256 * 1024 * 1024), "256 MiB");
  assert.equal(formatBytes(40 * 1024 * 1024), "40.0 MiB");
  assert.equal(formatBytes(3 * 1024 ** 4), "3.00 TiB");
});

Deno.test("formatTable() aligns columns to their widest cell", () => {
  assert.equal(
    formatTable(["ID", "STATE", "META"], [["w1", "ACTIVE", "{}"], [
      "worker-22",
      "STALE",
      '{"a":1}',
    ]]),
    [
      "ID         STATE   META",
      "w1         ACTIVE  {}",
      'worker-22  STALE   {"a":1}',
    ].join("\n"),
  );
  assert.equal(
    formatFields([["Worker", "w1"], ["Last heartbeat", "-"]]),
    [
      "Worker:          w1",
      "Last heartbeat:  -",
    ].join("\n"),
  );
});

Deno.test("the progress bar shows percent, bytes, rate and time left; lines when not a terminal", () => {
  let now = 0;
  const output: string[] = [];
  const MIB = 1024 * 1024;
  const bar = new ProgressBar(100 * MIB, {
    write: (text) => output.push(text),
    interactive: false,
    now: () => now,
  });
  now = 1000;
  bar.update(25 * MIB);
  now = 1500;
  bar.update(30 * MIB); // within 2 s of the last line: not drawn
  now = 4000;
  bar.finish(100 * MIB);
  assert.deepEqual(output, [
    "[######------------------]  25%  25.0 MiB / 100 MiB  25.0 MiB/s  ETA 3s\n",
    "[########################] 100%  100 MiB / 100 MiB  25.0 MiB/s  in 4s\n",
  ]);
});

Deno.test("at a terminal the progress bar redraws one line in place", () => {
  let now = 0;
  const output: string[] = [];
  const bar = new ProgressBar(1000, {
    write: (text) => output.push(text),
    interactive: true,
    now: () => now,
  });
  now = 1000;
  bar.update(500);
  now = 2000;
  bar.finish(1000);
  assert.equal(output.length, 3);
  assert.ok(output[0]!.startsWith("\r[############------------]  50%"));
  assert.ok(output[1]!.startsWith("\r[########################] 100%"));
  assert.equal(output[2], "\n");
});
