/**
 * A DNS server on a loopback UDP port that answers one name with several
 * IPv4 addresses, for the test of a name that resolves to several replicas:
 * grpc-js's DNS resolver asks the server a target names
 * (`dns://<server>/<name>:<port>`), so the test needs neither /etc/hosts nor
 * a real zone. Every other question is answered NXDOMAIN (AAAA for the name:
 * no records). The twin of the Python suite's tests/fake_dns.py.
 */
import { Buffer } from "node:buffer";
import dgram from "node:dgram";

const TYPE_A = 1;
const CLASS_IN = 1;
const TTL_SECONDS = 1;

/** Answers A queries for one name with its addresses until closed. */
export class FakeDns {
  /** The questions asked, as `name/type`. */
  readonly questions: string[] = [];
  #name: string;
  #addresses: string[];
  #socket = dgram.createSocket("udp4");

  /**
   * @param name the name it knows
   * @param addresses the IPv4 addresses of that name
   */
  constructor(name: string, addresses: string[]) {
    this.#name = name.toLowerCase();
    this.#addresses = addresses;
  }

  /**
   * Listens on a free loopback port.
   *
   * @returns `127.0.0.1:<port>`, the DNS server part of a grpc-js `dns:` target
   */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#socket.bind(0, "127.0.0.1", resolve));
    this.#socket.on("message", (packet: Buffer, peer: dgram.RemoteInfo) => {
      this.#socket.send(this.#answer(packet), peer.port, peer.address);
    });
    return `127.0.0.1:${this.#socket.address().port}`;
  }

  /** Stops answering. */
  close(): void {
    this.#socket.close();
  }

  #answer(packet: Buffer): Buffer {
    const labels: string[] = [];
    let at = 12;
    for (let length = packet[at]!; length !== 0; length = packet[at]!) {
      labels.push(packet.subarray(at + 1, at + 1 + length).toString("ascii"));
      at += 1 + length;
    }
    const type = packet.readUInt16BE(at + 1);
    const question = packet.subarray(12, at + 5);
    const name = labels.join(".").toLowerCase();
    this.questions.push(`${name}/${type}`);
    const records: Buffer[] = [];
    if (name === this.#name && type === TYPE_A) {
      for (const address of this.#addresses) {
        // A pointer to the name in the question, then type, class, TTL, length, address.
        const record = Buffer.alloc(16);
        record.writeUInt16BE(0xc00c, 0);
        record.writeUInt16BE(TYPE_A, 2);
        record.writeUInt16BE(CLASS_IN, 4);
        record.writeUInt32BE(TTL_SECONDS, 6);
        record.writeUInt16BE(4, 10);
        address.split(".").forEach((octet, index) => record[12 + index] = Number(octet));
        records.push(record);
      }
    }
    const header = Buffer.alloc(12);
    header.writeUInt16BE(packet.readUInt16BE(0), 0);
    // A response, recursion available; NXDOMAIN (3) for names it does not know.
    header.writeUInt16BE(0x8180 | (name === this.#name ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    return Buffer.concat([header, question, ...records]);
  }
}
