/** Which command lines main.ts hands to the admin CLI: those whose first word is an admin command. */
import assert from "node:assert/strict";
import { isAdminCommand } from "../../src/cli/admin_cli.ts";

Deno.test("isAdminCommand() looks at the first word, skipping flags and their values", () => {
  const cases: [string[], boolean][] = [
    [["workers", "list"], true],
    [["--json", "checkpoints", "list", "w1"], true],
    [["--addr", "grpc://host:1", "gc", "--dry-run"], true],
    [["datasets", "list"], true],
    [[], false],
    [["serve"], false],
    [["config", "check"], false],
    [["version"], false],
    [["--config", "gc", "serve"], false],
    [["--data-dir", "workers", "serve"], false],
    [["--help"], false],
  ];
  for (const [args, admin] of cases) assert.equal(isAdminCommand(args), admin, args.join(" "));
});
