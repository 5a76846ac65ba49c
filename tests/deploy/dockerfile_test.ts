/**
 * The Dockerfile, without a Docker engine: hadolint lints it when installed,
 * and its instructions are parsed (line continuations joined, ARGs expanded)
 * and checked: two stages, Deno pinned to 2.8.3, `deno task compile`, a
 * non-root user, both ports, a health check on /healthz, the entrypoint; and
 * .dockerignore keeps in exactly what the build needs.
 */
import assert from "node:assert/strict";
import { missingTool, REPO, run } from "./_tools.ts";

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile: comments dropped, continuations joined. */
function parseDockerfile(source: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1).trimEnd() + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    const match = /^(\w+)\s+(.*)$/s.exec(full);
    assert.ok(match, `cannot parse Dockerfile line: ${full}`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  if (pending !== "") {
    instructions.push(...parseDockerfile(pending.trim()));
  }
  return instructions;
}

/** Splits instructions into stages, expanding ARGs declared before FROM. */
function stages(instructions: Instruction[]): {
  from: string;
  name?: string;
  body: Instruction[];
}[] {
  const globalArgs = new Map<string, string>();
  const result: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "ARG" && result.length === 0) {
      const [name, value = ""] = instruction.args.split("=");
      globalArgs.set(name!.trim(), value.trim());
      continue;
    }
    if (instruction.keyword === "FROM") {
      const expanded = instruction.args.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a, b) => globalArgs.get(a ?? b) ?? "",
      );
      const [from, as, name] = expanded.split(/\s+/);
      result.push({
        from: from!,
        name: as?.toUpperCase() === "AS" ? name : undefined,
        body: [],
      });
      continue;
    }
    result.at(-1)?.body.push(instruction);
  }
  return result;
}

function dockerfile(): Instruction[] {
  return parseDockerfile(Deno.readTextFileSync(`${REPO}/Dockerfile`));
}

function findAll(body: Instruction[], keyword: string): string[] {
  return body.filter((i) => i.keyword === keyword).map((i) => i.args);
}

Deno.test({
  name: "hadolint finds nothing in the Dockerfile",
  ignore: missingTool("hadolint"),
  fn: async () => {
    const result = await run("hadolint", ["Dockerfile"]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  },
});

Deno.test("parseDockerfile() joins continuations and rejects garbage", () => {
  assert.deepEqual(
    parseDockerfile('# c\nFROM a AS b\nRUN x \\\n && y\n\nCMD ["z"]\n'),
    [
      { keyword: "FROM", args: "a AS b" },
      { keyword: "RUN", args: "x && y" },
      { keyword: "CMD", args: '["z"]' },
    ],
  );
  assert.deepEqual(parseDockerfile("RUN a \\\n# inner comment\n  b\n"), [
    { keyword: "RUN", args: "a b" },
  ]);
  assert.throws(() => parseDockerfile("FROM a\nnonsense\n"), /cannot parse/);
});

Deno.test("the build stage compiles with Deno 2.8.3 from the files it needs", () => {
  const [build, final, ...rest] = stages(dockerfile());
  assert.equal(rest.length, 0, "exactly two stages");
  assert.equal(build?.from, "denoland/deno:2.8.3");
  const copied = findAll(build!.body, "COPY").join(" ");
  for (const path of ["deno.json", "deno.lock", "main.ts", "config.toml", "src/", "sdk/"]) {
    assert.ok(copied.split(/\s+/).includes(path), `build stage copies ${path}`);
  }
  const runs = findAll(build!.body, "RUN").join("\n");
  assert.match(runs, /deno task compile/);
  assert.match(runs, /deno install --frozen/);
  assert.ok(final, "a final stage");
});

Deno.test("the final stage is minimal, non-root, and runs the runtime", () => {
  const [, final] = stages(dockerfile());
  assert.match(
    final!.from,
    /^(gcr\.io\/distroless\/cc-debian12(:\S+)?|debian:bookworm-slim)$/,
  );
  const users = findAll(final!.body, "USER");
  assert.equal(users.length, 1);
  assert.doesNotMatch(users[0]!, /^(root|0)(:|$)/);
  assert.deepEqual(findAll(final!.body, "EXPOSE"), ["50051 9090"]);
  assert.deepEqual(findAll(final!.body, "ENTRYPOINT"), ['["/app/pulse-runtime"]']);
  assert.deepEqual(findAll(final!.body, "CMD"), ['["serve"]']);
  const [healthcheck] = findAll(final!.body, "HEALTHCHECK");
  assert.match(healthcheck ?? "", /CMD .*http:\/\/127\.0\.0\.1:9090\/healthz/);
  const copies = findAll(final!.body, "COPY");
  assert.ok(
    copies.some((c) => c.startsWith("--from=build") && c.includes("/app/")),
    "the final stage copies the executable and config.toml from the build",
  );
  const runs = findAll(stages(dockerfile())[0]!.body, "RUN").join("\n");
  assert.match(runs, /cp dist\/pulse-runtime config\.toml \/out\//);
});

Deno.test("the Dockerfile's Deno version is the one CI uses", async () => {
  const [build] = stages(dockerfile());
  const version = build!.from.split(":")[1];
  const ci = await Deno.readTextFile(`${REPO}/.github/workflows/ci.yml`);
  const ciVersions = [...ci.matchAll(/deno-version: (\S+)/g)].map((m) => m[1]);
  assert.ok(ciVersions.length > 0);
  assert.deepEqual([...new Set(ciVersions)], [version]);
});

/** Whether a path is sent to the build (Docker's last-match-wins rule). */
function included(patterns: string[], path: string): boolean {
  let keep = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    const body = (negated ? pattern.slice(1) : pattern).replace(/\/$/, "");
    const regex = new RegExp(
      "^" + body.replace(/[.+^$()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "(.*/)?")
        .replace(/\*/g, "[^/]*") +
        "(/.*)?$",
    );
    if (regex.test(path)) keep = negated;
  }
  return keep;
}

Deno.test(".dockerignore sends the build only what it needs", () => {
  const patterns = Deno.readTextFileSync(`${REPO}/.dockerignore`).split("\n")
    .map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  for (
    const path of [
      "deno.json",
      "deno.lock",
      "main.ts",
      "config.toml",
      "src/server.ts",
      "sdk/deno.json",
      "sdk/mod.ts",
    ]
  ) {
    assert.ok(included(patterns, path), `${path} is sent`);
  }
  for (
    const path of [
      ".git/config",
      "data/chunks/ab/x",
      "dist/pulse-runtime",
      "tests/deploy/x.ts",
      "sdk/python/pulse/__init__.py",
      "certs/key.pem",
      "terraform/environments/prod/terraform.tfvars",
    ]
  ) {
    assert.ok(!included(patterns, path), `${path} is not sent`);
  }
});
