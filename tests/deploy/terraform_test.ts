/**
 * Terraform is not installed by CI (no registry it reaches serves it), so
 * these tests do what they can without it: every `.tf` file is parsed with
 * HashiCorp's HCL parser, the module wiring is checked (arguments against declared variables, required
 * variables passed, `module.X.Y` against outputs, `var.*` and `local.*`
 * declared), and the security properties the design asks of the modules are
 * checked on the parsed configuration. The checker is also run on broken
 * fixtures to prove that it reports each kind of mistake. Where `terraform`
 * is on PATH, the ECS module's auth checks are also evaluated by it (in a
 * directory without providers, so that no network is needed).
 */
import assert from "node:assert/strict";
import {
  allStrings,
  checkTerraformWiring,
  type HclDocument,
  labelledBlocks,
  loadTerraformDir,
  parseHcl,
  templateExpressions,
  terraformDirs,
} from "./_terraform_wiring.ts";
import { SETTINGS } from "../../src/config.ts";
import { missingTool, run } from "./_tools.ts";

const ROOT = new URL("../../terraform", import.meta.url).pathname.replace(
  /\/$/,
  "",
);
const MODULES = ["ecs", "iam", "s3", "security-groups", "vpc"];
const ENVIRONMENTS = ["dev", "prod"];

function resources(
  document: HclDocument | undefined,
  type: string,
): [string, Record<string, unknown>][] {
  const byType = document?.resource as Record<string, unknown> | undefined;
  return labelledBlocks(byType?.[type]);
}

function dataSources(
  document: HclDocument | undefined,
  type: string,
): [string, Record<string, unknown>][] {
  const byType = document?.data as Record<string, unknown> | undefined;
  return labelledBlocks(byType?.[type]);
}

function firstBlock(value: unknown): Record<string, unknown> {
  const block = Array.isArray(value) ? value[0] : value;
  assert.ok(typeof block === "object" && block !== null, "block expected");
  return block as Record<string, unknown>;
}

Deno.test("every .tf file parses with the HCL parser", async () => {
  const dirs = terraformDirs(ROOT);
  const expected = [
    ...ENVIRONMENTS.map((e) => `${ROOT}/environments/${e}`),
    ...MODULES.map((m) => `${ROOT}/modules/${m}`),
  ].sort();
  assert.deepEqual(dirs, expected);
  let files = 0;
  for (const path of dirs) {
    files += (await loadTerraformDir(path)).files.size;
  }
  assert.ok(files >= 28, `expected at least 28 .tf files, found ${files}`);
});

Deno.test("the HCL parser rejects a syntax error", async () => {
  await assert.rejects(
    () => parseHcl("broken.tf", 'module "x" {\n  source = \n}\n'),
    /broken\.tf/,
  );
});

Deno.test("module calls and references in terraform/ are wired correctly", async () => {
  assert.deepEqual(await checkTerraformWiring(ROOT), []);
});

Deno.test("the wiring check reports each kind of mistake", async () => {
  const root = await Deno.makeTempDir({ prefix: "tf_wiring_" });
  try {
    await Deno.mkdir(`${root}/modules/m`, { recursive: true });
    await Deno.mkdir(`${root}/env`, { recursive: true });
    await Deno.writeTextFile(
      `${root}/modules/m/main.tf`,
      `variable "needed" { type = string }
variable "optional" {
  type    = string
  default = null
}
output "id" { value = "x-\${var.needed}-\${var.missing}" }
`,
    );
    await Deno.writeTextFile(
      `${root}/env/main.tf`,
      `locals { known = "k" }
module "a" {
  source   = "../modules/m"
  optional = local.known
  extra    = "$\${var.escaped} is a literal"
}
module "b" {
  source = "../modules/nowhere"
}
output "good" { value = module.a.id }
output "bad" { value = "\${module.a.arn}-\${module.c.id}-\${local.unknown}-\${var.undeclared}" }
`,
    );
    assert.deepEqual(await checkTerraformWiring(root), [
      "env/main.tf: local.unknown is not defined",
      'env/main.tf: module "a": does not pass required variable needed',
      'env/main.tf: module "a": passes extra, which the module does not declare',
      'env/main.tf: module "b": source ../modules/nowhere has no .tf files',
      "env/main.tf: module.a.arn is not an output of ../modules/m",
      "env/main.tf: module.c is not called here",
      "env/main.tf: var.undeclared is not declared",
      "modules/m/main.tf: var.missing is not declared",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("template expressions are found, escapes are not", () => {
  assert.deepEqual(
    templateExpressions(
      'a-${var.x}-$${var.literal}-%{ if var.y }z%{ endif }-${merge(var.t, { N = "${var.n}" })}',
    ),
    [
      "var.x",
      " if var.y ",
      " endif ",
      'merge(var.t, { N = "${var.n}" })',
    ],
  );
});

Deno.test("each module has main, variables, outputs and versions files", async () => {
  for (const name of MODULES) {
    const dir = await loadTerraformDir(`${ROOT}/modules/${name}`);
    assert.deepEqual(
      [...dir.files.keys()],
      ["main.tf", "outputs.tf", "variables.tf", "versions.tf"],
      name,
    );
    const versions = firstBlock(dir.files.get("versions.tf")?.terraform);
    const providers = firstBlock(versions.required_providers);
    const aws = providers.aws as Record<string, unknown>;
    assert.equal(aws.source, "hashicorp/aws", name);
    assert.match(String(aws.version), /^>= 5\.\d+\.\d+, < 6\.0\.0$/, name);
    for (
      const [variable, block] of labelledBlocks(
        dir.files.get("variables.tf")?.variable,
      )
    ) {
      assert.ok(
        block.description,
        `${name}: variable ${variable} has no description`,
      );
      assert.ok(block.type, `${name}: variable ${variable} has no type`);
    }
    for (
      const [output, block] of labelledBlocks(
        dir.files.get("outputs.tf")?.output,
      )
    ) {
      assert.ok(
        block.description,
        `${name}: output ${output} has no description`,
      );
    }
    assert.ok(dir.outputs.size > 0, `${name} declares no outputs`);
  }
});

Deno.test("dev and prod each compose all five modules", async () => {
  for (const env of ENVIRONMENTS) {
    const dir = await loadTerraformDir(`${ROOT}/environments/${env}`);
    const sources = [...dir.modules.values()].map((m) => m.source).sort();
    assert.deepEqual(
      sources,
      MODULES.map((m) => `../../modules/${m}`),
      env,
    );
    for (
      const file of ["main.tf", "variables.tf", "outputs.tf", "versions.tf"]
    ) {
      assert.ok(dir.files.has(file), `${env} has no ${file}`);
    }
  }
});

Deno.test("the s3 module versions, encrypts, blocks public access and aborts multipart uploads", async () => {
  const main = (await loadTerraformDir(`${ROOT}/modules/s3`)).files.get(
    "main.tf",
  );
  const [[, versioning] = []] = resources(main, "aws_s3_bucket_versioning");
  assert.equal(
    firstBlock(versioning?.versioning_configuration).status,
    "Enabled",
  );

  const [[, publicAccess] = []] = resources(
    main,
    "aws_s3_bucket_public_access_block",
  );
  for (
    const flag of [
      "block_public_acls",
      "block_public_policy",
      "ignore_public_acls",
      "restrict_public_buckets",
    ]
  ) {
    assert.equal(publicAccess?.[flag], true, flag);
  }

  const [[, encryption] = []] = resources(
    main,
    "aws_s3_bucket_server_side_encryption_configuration",
  );
  const defaults = firstBlock(
    firstBlock(encryption?.rule).apply_server_side_encryption_by_default,
  );
  assert.equal(defaults.sse_algorithm, "${local.sse_algorithm}");

  const [[, lifecycle] = []] = resources(
    main,
    "aws_s3_bucket_lifecycle_configuration",
  );
  const rules = (lifecycle?.rule ?? []) as Record<string, unknown>[];
  const abort = rules.find((r) => "abort_incomplete_multipart_upload" in r);
  assert.ok(abort, "no rule aborts incomplete multipart uploads");
  assert.equal(abort.status, "Enabled");
  assert.equal(
    firstBlock(abort.abort_incomplete_multipart_upload).days_after_initiation,
    "${var.abort_incomplete_multipart_days}",
  );
});

Deno.test("the security group admits gRPC only from workers and metrics only from monitoring", async () => {
  const dir = await loadTerraformDir(`${ROOT}/modules/security-groups`);
  const main = dir.files.get("main.tf");
  const ingress = Object.fromEntries(
    resources(main, "aws_vpc_security_group_ingress_rule"),
  );
  assert.deepEqual(Object.keys(ingress).sort(), [
    "grpc_from_workers",
    "metrics_from_monitoring",
  ]);
  const expectations = {
    grpc_from_workers: ["var.worker_cidr_blocks", "${var.grpc_port}"],
    metrics_from_monitoring: [
      "var.monitoring_cidr_blocks",
      "${var.metrics_port}",
    ],
  };
  for (const [name, [cidrs, port]] of Object.entries(expectations)) {
    const rule = ingress[name]!;
    assert.equal(rule.for_each, `\${toset(${cidrs})}`, name);
    assert.equal(rule.cidr_ipv4, "${each.value}", name);
    assert.equal(rule.from_port, port, name);
    assert.equal(rule.to_port, port, name);
    assert.equal(rule.ip_protocol, "tcp", name);
  }
  const [[, group] = []] = resources(main, "aws_security_group");
  assert.equal(group?.ingress, undefined, "no inline ingress rules");
  assert.deepEqual(resources(main, "aws_security_group_rule"), []);
  const defaults = Object.fromEntries(
    labelledBlocks(dir.files.get("variables.tf")?.variable).map((
      [name, block],
    ) => [name, block.default]),
  );
  assert.equal(defaults.grpc_port, 50051);
  assert.equal(defaults.metrics_port, 9090);
  assert.ok(
    !allStrings(resources(main, "aws_vpc_security_group_ingress_rule"))
      .includes("0.0.0.0/0"),
    "an ingress rule is open to the world",
  );
});

Deno.test("the task role reaches only its bucket and key prefix", async () => {
  const main = (await loadTerraformDir(`${ROOT}/modules/iam`)).files.get(
    "main.tf",
  );
  const [[, task] = []] = dataSources(main, "aws_iam_policy_document").filter((
    [name],
  ) => name === "task");
  assert.ok(task, "no task policy document");
  const statements = [
    ...((task.statement ?? []) as Record<string, unknown>[]),
    ...labelledBlocks(task.dynamic)
      .filter(([label]) => label === "statement")
      .map(([, block]) => firstBlock(block.content)),
  ];
  const allowed = new Map<string, string[]>([
    ["s3:ListBucket", ["${var.bucket_arn}"]],
    ["s3:GetObject", ["${var.bucket_arn}/${var.key_prefix}*"]],
    ["s3:PutObject", ["${var.bucket_arn}/${var.key_prefix}*"]],
    ["s3:DeleteObject", ["${var.bucket_arn}/${var.key_prefix}*"]],
    ["kms:Decrypt", ["${statement.value}"]],
    ["kms:GenerateDataKey", ["${statement.value}"]],
  ]);
  const granted = new Set<string>();
  for (const statement of statements) {
    assert.notEqual(statement.effect, "Deny");
    for (const action of statement.actions as string[]) {
      assert.ok(allowed.has(action), `task role is granted ${action}`);
      assert.deepEqual(statement.resources, allowed.get(action), action);
      granted.add(action);
    }
  }
  assert.deepEqual([...granted].sort(), [...allowed.keys()].sort());
  const list = statements.find((s) => (s.actions as string[]).includes("s3:ListBucket"))!;
  const [[, condition] = []] = labelledBlocks(list.dynamic);
  assert.equal(
    firstBlock(condition?.content).variable,
    "s3:prefix",
    "listing is limited to the key prefix",
  );
});

Deno.test("terraform/README.md gives init, validate and plan for each environment", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  for (const env of ENVIRONMENTS) {
    assert.ok(
      readme.includes(`terraform -chdir=environments/${env} init`),
      `no init for ${env}`,
    );
    assert.ok(
      readme.includes(`terraform -chdir=environments/${env} validate`),
      `no validate for ${env}`,
    );
    assert.ok(
      readme.includes(`terraform -chdir=environments/${env} plan`),
      `no plan for ${env}`,
    );
  }
});

/** The text of an expression, `${` and `}` removed and whitespace collapsed. */
function expression(value: unknown): string {
  const text = String(value).replace(/\s+/g, " ").trim();
  return text.startsWith("${") && text.endsWith("}") ? text.slice(2, -1).trim() : text;
}

async function ecsTaskDefinition(): Promise<{
  dir: Awaited<ReturnType<typeof loadTerraformDir>>;
  locals: Record<string, unknown>;
  task: Record<string, unknown>;
}> {
  const dir = await loadTerraformDir(`${ROOT}/modules/ecs`);
  const main = dir.files.get("main.tf");
  const [[, task] = []] = resources(main, "aws_ecs_task_definition");
  assert.ok(task, "no task definition");
  return { dir, locals: firstBlock(main?.locals), task };
}

Deno.test("the ECS task gets PULSE_AUTH_TOKENS from the Secrets Manager secret, never as plain environment", async () => {
  const { dir, locals, task } = await ecsTaskDefinition();
  assert.equal(
    expression(locals.secrets),
    'var.auth_tokens_secret_arn == null ? [] : [ { name = "PULSE_AUTH_TOKENS", valueFrom = var.auth_tokens_secret_arn }, ]',
  );
  const containers = expression(task.container_definitions);
  assert.match(containers, /\bsecrets = local\.secrets\b/);
  assert.doesNotMatch(containers, /PULSE_AUTH_TOKENS/);
  const environment = expression(locals.environment);
  assert.doesNotMatch(environment, /PULSE_AUTH_TOKENS/);
  // Last in the merge, so that nothing else decides it.
  assert.match(
    environment,
    /var\.extra_environment, \{ (# [^}]*)?PULSE_AUTH_ALLOW_ANONYMOUS = tostring\(var\.allow_anonymous\) \}, \)$/,
  );
  const variables = Object.fromEntries(
    labelledBlocks(dir.files.get("variables.tf")?.variable),
  );
  assert.equal(variables.allow_anonymous?.type, "${bool}");
  assert.equal(variables.allow_anonymous?.default, false);
  assert.equal(variables.auth_tokens_secret_arn?.type, "${string}");
  assert.equal(variables.auth_tokens_secret_arn?.default, null);
  const extraCheck = firstBlock(variables.extra_environment?.validation);
  for (const name of ["PULSE_AUTH_TOKENS", "PULSE_AUTH_ALLOW_ANONYMOUS"]) {
    assert.match(String(extraCheck.condition), new RegExp(`"${name}"`));
    assert.match(String(extraCheck.error_message), new RegExp(name));
  }
});

Deno.test("the ECS task definition is refused at plan time with neither tokens nor allow_anonymous", async () => {
  const { task } = await ecsTaskDefinition();
  const precondition = firstBlock(firstBlock(task.lifecycle).precondition);
  assert.equal(
    expression(precondition.condition),
    "var.auth_tokens_secret_arn != null || var.allow_anonymous",
  );
  assert.match(String(precondition.error_message), /\bauth_tokens_secret_arn\b/);
  assert.match(String(precondition.error_message), /\ballow_anonymous = true\b/);
});

Deno.test("every PULSE_ variable the ECS task sets is a setting of the runtime", async () => {
  const { locals } = await ecsTaskDefinition();
  const known = new Set(
    Object.values(SETTINGS).flatMap((spec) => "env" in spec && spec.env ? [spec.env] : []),
  );
  const names = [...String(locals.environment).matchAll(/^\s*(PULSE_[A-Z0-9_]+)\s*=/gm)]
    .map((match) => match[1]!);
  assert.ok(names.length >= 9, `found only ${names.join(", ")}`);
  assert.deepEqual(names.filter((name) => !known.has(name)), []);
  assert.ok(known.has("PULSE_AUTH_TOKENS"));
});

Deno.test("the execution role may read the tokens secret, only it, and only when one is set", async () => {
  const main = (await loadTerraformDir(`${ROOT}/modules/iam`)).files.get("main.tf");
  const [[, execution] = []] = dataSources(main, "aws_iam_policy_document").filter((
    [name],
  ) => name === "execution");
  assert.ok(execution, "no execution policy document");
  const dynamics = labelledBlocks(execution.dynamic).filter(([label]) => label === "statement")
    .map(([, block]): Record<string, unknown> => ({
      forEach: block.for_each,
      ...firstBlock(block.content),
    }));
  const read = dynamics.find((s) => s.sid === "ReadAuthTokensSecret");
  assert.ok(read, "no statement reads the tokens secret");
  assert.equal(
    read.forEach,
    "${var.auth_tokens_secret_arn == null ? [] : [var.auth_tokens_secret_arn]}",
  );
  assert.deepEqual(read.actions, ["secretsmanager:GetSecretValue"]);
  assert.deepEqual(read.resources, ["${statement.value}"]);
  const decrypt = dynamics.find((s) => s.sid === "DecryptAuthTokensSecret");
  assert.ok(decrypt, "no statement decrypts the tokens secret");
  assert.deepEqual(decrypt.actions, ["kms:Decrypt"]);
  assert.equal(firstBlock(decrypt.condition).variable, "kms:ViaService");
  // No other statement of either role touches Secrets Manager.
  const everywhere = allStrings(main).filter((s) => s.startsWith("secretsmanager:"));
  assert.deepEqual(everywhere, ["secretsmanager:GetSecretValue"]);
});

Deno.test("dev and prod pass one tokens secret to iam and ecs; prod requires it and is never anonymous", async () => {
  for (const env of ENVIRONMENTS) {
    const dir = await loadTerraformDir(`${ROOT}/environments/${env}`);
    const calls = Object.fromEntries(labelledBlocks(dir.files.get("main.tf")?.module));
    assert.equal(calls.iam?.auth_tokens_secret_arn, "${var.auth_tokens_secret_arn}", env);
    assert.equal(calls.ecs?.auth_tokens_secret_arn, "${var.auth_tokens_secret_arn}", env);
    assert.equal(calls.iam?.auth_tokens_kms_key_arn, "${var.auth_tokens_kms_key_arn}", env);
    const example = Deno.readTextFileSync(
      `${ROOT}/environments/${env}/terraform.tfvars.example`,
    );
    assert.match(example, /^auth_tokens_secret_arn = "arn:aws:secretsmanager:/m, env);
  }
  const dev = await loadTerraformDir(`${ROOT}/environments/dev`);
  const prod = await loadTerraformDir(`${ROOT}/environments/prod`);
  const devEcs = Object.fromEntries(labelledBlocks(dev.files.get("main.tf")?.module)).ecs;
  const prodEcs = Object.fromEntries(labelledBlocks(prod.files.get("main.tf")?.module)).ecs;
  assert.equal(devEcs?.allow_anonymous, "${var.allow_anonymous}");
  assert.equal(prodEcs?.allow_anonymous, false);
  assert.deepEqual(prod.variables.get("auth_tokens_secret_arn"), { required: true });
  assert.equal(prod.variables.has("allow_anonymous"), false);
});

/**
 * The source text of the block `header {...}` in `source` (braces counted;
 * the blocks these tests take have no unbalanced brace in a string).
 */
function blockSource(source: string, header: string): string {
  const start = source.indexOf(header);
  assert.ok(start >= 0, `no ${header}`);
  let depth = 0;
  for (let index = source.indexOf("{", start); index < source.length; index++) {
    if (source[index] === "{") depth += 1;
    if (source[index] === "}") depth -= 1;
    if (depth === 0) return source.slice(start, index + 1);
  }
  throw new Error(`${header} is not closed`);
}

const noTerraform = missingTool("terraform");

Deno.test({
  name: "terraform evaluates the ECS module's auth checks as intended",
  ignore: noTerraform,
  fn: async (t) => {
    // The module's own variable blocks and precondition, in a directory
    // without providers, so that `terraform plan` needs no network.
    const source = Deno.readTextFileSync(`${ROOT}/modules/ecs/variables.tf`);
    const { task } = await ecsTaskDefinition();
    const condition = expression(firstBlock(firstBlock(task.lifecycle).precondition).condition);
    const dir = await Deno.makeTempDir({ prefix: "tf_auth_" });
    try {
      await Deno.writeTextFile(
        `${dir}/main.tf`,
        [
          ...["auth_tokens_secret_arn", "allow_anonymous", "extra_environment"].map((name) =>
            blockSource(source, `variable "${name}" {`)
          ),
          `output "starts" { value = ${condition} }`,
          `output "anonymous" { value = tostring(var.allow_anonymous) }`,
        ].join("\n\n"),
      );
      const plan = async (...vars: string[]) => {
        const result = await run("terraform", [
          "plan",
          "-input=false",
          "-no-color",
          ...vars.flatMap((v) => ["-var", v]),
        ], { cwd: dir, env: { TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1" } });
        return result.stdout + result.stderr;
      };
      const arn =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:pulse-dev/auth-tokens-AbCdEf";
      await t.step("neither: refused", async () => {
        assert.match(await plan(), /starts\s+= false/);
      });
      await t.step("allow_anonymous = true: starts, PULSE_AUTH_ALLOW_ANONYMOUS=true", async () => {
        const out = await plan("allow_anonymous=true");
        assert.match(out, /starts\s+= true/);
        assert.match(out, /anonymous\s+= "true"/);
      });
      await t.step("a secret ARN: starts", async () => {
        assert.match(await plan(`auth_tokens_secret_arn=${arn}`), /starts\s+= true/);
      });
      await t.step("an ARN with a JSON key suffix: invalid", async () => {
        assert.match(
          await plan(`auth_tokens_secret_arn=${arn}:tokens::`),
          /auth_tokens_secret_arn must be the full ARN/,
        );
      });
      await t.step("PULSE_AUTH_TOKENS in extra_environment: invalid", async () => {
        assert.match(
          await plan('extra_environment={PULSE_AUTH_TOKENS="[]"}'),
          /extra_environment must not set PULSE_AUTH_TOKENS/,
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the example images carry a tag that CI pushes (semver without the v)", async () => {
  // .github/workflows/ci.yml tags images with docker/metadata-action's
  // type=semver patterns {{version}} and {{major}}.{{minor}}: 0.1.0, 0.1.
  const workflow = await Deno.readTextFile(`${ROOT}/../.github/workflows/ci.yml`);
  assert.match(workflow, /type=semver,pattern=\{\{version\}\}/);
  for (const env of ENVIRONMENTS) {
    const example = await Deno.readTextFile(
      `${ROOT}/environments/${env}/terraform.tfvars.example`,
    );
    const image = example.match(/^image\s*=\s*"([^"]+)"/m)?.[1];
    assert.match(image ?? "", /:\d+\.\d+\.\d+$/, `${env}: ${image}`);
  }
});
