/**
 * Tries each connection a JSON file lists with one heartbeat and prints, per
 * case, one JSON line: `{ name, ok }`, or `{ name, code, message }` of the
 * PulseError. Certificates are given as paths of PEM files.
 *
 * Usage: node connect.js <cases.json>. Run by ../node_test.ts.
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { PulseError, Runtime, type TlsOptions } from "@pulsecheckpoint/sdk";

interface Case {
  name: string;
  address: string;
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string };
}

const path = process.argv[2];
if (path === undefined) throw new Error("usage: connect.js <cases.json>");
const cases = JSON.parse(readFileSync(path, "utf8")) as Case[];

function tlsOf(files: Case["tls"]): TlsOptions | undefined {
  if (files === undefined) return undefined;
  const read = (file: string | undefined) => file === undefined ? undefined : readFileSync(file);
  return {
    ca: read(files.ca),
    cert: read(files.cert),
    key: read(files.key),
    serverName: files.serverName,
  };
}

for (const { name, address, tls } of cases) {
  const rt = new Runtime(address, { tls: tlsOf(tls), retry: false });
  try {
    await rt.registerWorker("node-worker");
    console.log(JSON.stringify({ name, ok: true }));
  } catch (error) {
    if (!(error instanceof PulseError)) throw error;
    console.log(JSON.stringify({ name, code: error.code, message: error.message }));
  } finally {
    rt.close();
  }
}
