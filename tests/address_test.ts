/** Listen addresses: what parses, and what counts as loopback however it is spelled. */
import assert from "node:assert/strict";
import { isLoopback, parseAddress } from "../src/address.ts";

Deno.test("parseAddress() takes host:port and [ipv6]:port, and nothing else", () => {
  assert.deepEqual(parseAddress("127.0.0.1:50051"), { hostname: "127.0.0.1", port: 50051 });
  assert.deepEqual(parseAddress("[::1]:0"), { hostname: "::1", port: 0 });
  assert.deepEqual(parseAddress("pulse.internal:443"), { hostname: "pulse.internal", port: 443 });
  for (const bad of ["localhost", "::1:80", "[::1]", "host:65536", "a b:1", ":80", "[zz]:1"]) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

Deno.test("isLoopback() knows 127.0.0.0/8, ::1 and localhost in every spelling, and no DNS name that looks like them", () => {
  for (
    const local of [
      "127.0.0.1:1",
      "127.255.0.9:1",
      "127.1:1",
      "0x7f.0.0.1:1",
      "localhost:1",
      "LocalHost:1",
      "[::1]:1",
      "[0:0:0:0:0:0:0:1]:1",
      "[::ffff:127.0.0.1]:1",
    ]
  ) {
    assert.ok(isLoopback(local), local);
  }
  for (
    const open of ["0.0.0.0:1", "[::]:1", "10.0.0.1:1", "127.evil.example:1", "localhost.example:1"]
  ) {
    assert.ok(!isLoopback(open), open);
  }
});
