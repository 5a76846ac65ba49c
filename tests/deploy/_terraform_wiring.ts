/**
 * Checks the wiring of a Terraform tree without Terraform: every `.tf` file
 * is parsed with HashiCorp's HCL parser (compiled to WebAssembly in
 * `@cdktf/hcl2json`), then module calls, `var.*`, `local.*` and `module.*`
 * references are checked against what each directory declares. This is the
 * part of `terraform validate` that catches wiring mistakes; the provider
 * schemas are not checked here.
 */
// @ts-types="./_hcl2json.d.ts"
import { parse } from "@cdktf/hcl2json";

/** The JSON form of one parsed `.tf` file. */
export type HclDocument = Record<string, unknown>;

/** What one Terraform directory (a root or a module) declares and uses. */
export interface TerraformDir {
  path: string;
  /** Parsed files, by file name. */
  files: Map<string, HclDocument>;
  /** Declared variables: name → whether a value must be passed (no default). */
  variables: Map<string, { required: boolean }>;
  outputs: Set<string>;
  locals: Set<string>;
  /** Module calls: name → source and the argument names passed. */
  modules: Map<string, { source: string; args: string[]; file: string }>;
  references: Reference[];
}

/** One `var.X`, `local.X` or `module.X.Y` found in an expression. */
export interface Reference {
  kind: "var" | "local" | "module";
  name: string;
  /** The attribute of a module reference (`module.X.attribute`), if any. */
  attribute?: string;
  file: string;
}

// Arguments of a module block that are Terraform's, not the module's.
const MODULE_META_ARGUMENTS = new Set([
  "source",
  "version",
  "providers",
  "count",
  "for_each",
  "depends_on",
]);

/** Parses one HCL file; throws with the parser's message on a syntax error. */
export async function parseHcl(
  path: string,
  source: string,
): Promise<HclDocument> {
  return await parse(path, source) as HclDocument;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The blocks of `{ label: [block, ...] }`, as [label, block] pairs. */
export function labelledBlocks(
  value: unknown,
): [string, Record<string, unknown>][] {
  if (!isRecord(value)) return [];
  const pairs: [string, Record<string, unknown>][] = [];
  for (const [label, blocks] of Object.entries(value)) {
    for (const block of Array.isArray(blocks) ? blocks : [blocks]) {
      if (isRecord(block)) pairs.push([label, block]);
    }
  }
  return pairs;
}

/** Every string anywhere inside a parsed value. */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (isRecord(value)) return Object.values(value).flatMap(allStrings);
  return [];
}

/**
 * The expressions of a template string: the text inside each outermost
 * `${...}` and `%{...}`; `$${` and `%%{` are escapes, not expressions.
 */
export function templateExpressions(text: string): string[] {
  const expressions: string[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    const next = text[index + 1];
    if ((char === "$" || char === "%") && next === char) {
      index += 2;
      continue;
    }
    if ((char === "$" || char === "%") && next === "{") {
      let depth = 1;
      let end = index + 2;
      while (end < text.length && depth > 0) {
        if (text[end] === "{") depth += 1;
        if (text[end] === "}") depth -= 1;
        end += 1;
      }
      expressions.push(text.slice(index + 2, end - 1));
      index = end;
      continue;
    }
    index += 1;
  }
  return expressions;
}

const NAME = "[A-Za-z_][A-Za-z0-9_-]*";
const VAR_PATTERN = new RegExp(`(?<![\\w.])var\\.(${NAME})`, "g");
const LOCAL_PATTERN = new RegExp(`(?<![\\w.])local\\.(${NAME})`, "g");
const MODULE_PATTERN = new RegExp(
  `(?<![\\w.])module\\.(${NAME})(?:\\[[^\\]]*\\])?(?:\\.(${NAME}))?`,
  "g",
);

/** The references made by the expressions in one parsed file. */
export function findReferences(
  document: HclDocument,
  file: string,
): Reference[] {
  const references: Reference[] = [];
  for (const text of allStrings(document)) {
    for (const expression of templateExpressions(text)) {
      for (const match of expression.matchAll(VAR_PATTERN)) {
        references.push({ kind: "var", name: match[1]!, file });
      }
      for (const match of expression.matchAll(LOCAL_PATTERN)) {
        references.push({ kind: "local", name: match[1]!, file });
      }
      for (const match of expression.matchAll(MODULE_PATTERN)) {
        references.push({
          kind: "module",
          name: match[1]!,
          attribute: match[2],
          file,
        });
      }
    }
  }
  return references;
}

/** Parses every `.tf` file of one directory (not its subdirectories). */
export async function loadTerraformDir(path: string): Promise<TerraformDir> {
  const dir: TerraformDir = {
    path,
    files: new Map(),
    variables: new Map(),
    outputs: new Set(),
    locals: new Set(),
    modules: new Map(),
    references: [],
  };
  const names = [...Deno.readDirSync(path)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".tf"))
    .map((entry) => entry.name)
    .sort();
  for (const name of names) {
    const document = await parseHcl(
      `${path}/${name}`,
      Deno.readTextFileSync(`${path}/${name}`),
    );
    dir.files.set(name, document);
    for (const [label, block] of labelledBlocks(document.variable)) {
      dir.variables.set(label, { required: !("default" in block) });
    }
    for (const [label] of labelledBlocks(document.output)) {
      dir.outputs.add(label);
    }
    const localsBlocks = Array.isArray(document.locals) ? document.locals : [document.locals];
    for (const block of localsBlocks) {
      if (isRecord(block)) Object.keys(block).forEach((k) => dir.locals.add(k));
    }
    for (const [label, block] of labelledBlocks(document.module)) {
      dir.modules.set(label, {
        source: String(block.source),
        args: Object.keys(block).filter((k) => !MODULE_META_ARGUMENTS.has(k)),
        file: name,
      });
    }
    dir.references.push(...findReferences(document, name));
  }
  return dir;
}

/** Directories under `root` (itself included) that hold `.tf` files. */
export function terraformDirs(root: string): string[] {
  const dirs: string[] = [];
  const walk = (path: string) => {
    const entries = [...Deno.readDirSync(path)];
    if (entries.some((e) => e.isFile && e.name.endsWith(".tf"))) {
      dirs.push(path);
    }
    for (const entry of entries) {
      if (entry.isDirectory && !entry.name.startsWith(".")) {
        walk(`${path}/${entry.name}`);
      }
    }
  };
  walk(root);
  return dirs.sort();
}

/** Joins a relative module source to the directory that calls it. */
function resolveSource(from: string, source: string): string {
  const parts = from.split("/");
  for (const part of source.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/**
 * Checks the wiring of every directory under `root` and returns one line per
 * problem, sorted; an empty list means the tree is wired correctly.
 */
export async function checkTerraformWiring(root: string): Promise<string[]> {
  const dirs = new Map<string, TerraformDir>();
  for (const path of terraformDirs(root)) {
    dirs.set(path, await loadTerraformDir(path));
  }
  const problems: string[] = [];
  for (const dir of dirs.values()) {
    const where = (file: string) => `${dir.path.slice(root.length + 1)}/${file}`;
    for (const [name, call] of dir.modules) {
      const at = `${where(call.file)}: module "${name}"`;
      if (!call.source.startsWith("./") && !call.source.startsWith("../")) {
        problems.push(`${at}: source ${call.source} is not a local path`);
        continue;
      }
      const target = dirs.get(resolveSource(dir.path, call.source));
      if (target === undefined) {
        problems.push(`${at}: source ${call.source} has no .tf files`);
        continue;
      }
      for (const arg of call.args) {
        if (!target.variables.has(arg)) {
          problems.push(
            `${at}: passes ${arg}, which the module does not declare`,
          );
        }
      }
      for (const [variable, { required }] of target.variables) {
        if (required && !call.args.includes(variable)) {
          problems.push(`${at}: does not pass required variable ${variable}`);
        }
      }
    }
    for (const ref of dir.references) {
      const at = where(ref.file);
      if (ref.kind === "var" && !dir.variables.has(ref.name)) {
        problems.push(`${at}: var.${ref.name} is not declared`);
      }
      if (ref.kind === "local" && !dir.locals.has(ref.name)) {
        problems.push(`${at}: local.${ref.name} is not defined`);
      }
      if (ref.kind === "module") {
        const call = dir.modules.get(ref.name);
        if (call === undefined) {
          problems.push(`${at}: module.${ref.name} is not called here`);
          continue;
        }
        const target = dirs.get(resolveSource(dir.path, call.source));
        if (
          ref.attribute !== undefined && target !== undefined &&
          !target.outputs.has(ref.attribute)
        ) {
          problems.push(
            `${at}: module.${ref.name}.${ref.attribute} is not an output of ${call.source}`,
          );
        }
      }
    }
  }
  return [...new Set(problems)].sort();
}
