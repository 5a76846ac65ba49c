/**
 * A client of `grpc://pulse.test:<port>` through the SDK's channel, whose
 * name is resolved by the DNS server given (`dns://<server>/pulse.test:<port>`),
 * for replicas_test.ts: grpc-js asks a target's own DNS server only with
 * GRPC_NODE_USE_ALTERNATIVE_RESOLVER=true, read once when it loads, so the
 * test runs this in a process of its own with that variable set, keeping its
 * own process on the system's resolver.
 *
 * Usage: `_dns_client.ts <server host:port> <port>`; each line read is a
 * worker to register, answered `ok` or `error <message>`.
 */
import { Channel } from "../../sdk/_channel.ts";

const [server, port] = Deno.args;
const channel = new Channel(
  [`grpc://pulse.test:${port}`],
  {},
  (target) => `dns://${server}/${target}`,
);
const encoder = new TextEncoder();
let rest = "";
for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  const lines = (rest + text).split("\n");
  rest = lines.pop()!;
  for (const workerId of lines) {
    let answer = "ok";
    try {
      await channel.unary("register worker", "RegisterWorker", { worker_id: workerId });
    } catch (error) {
      answer = `error ${(error as Error).message}`;
    }
    await Deno.stdout.write(encoder.encode(`${answer}\n`));
  }
}
channel.close();
