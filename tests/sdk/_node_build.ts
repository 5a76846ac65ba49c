/**
 * Builds the SDK for Node the way JSR's npm compatibility layer does: each
 * TypeScript module transpiled to an ES module with its declarations, relative
 * `.ts` imports rewritten to `.js`, bare imports left for node_modules, and a
 * package.json whose dependencies are the `npm:` imports of sdk/deno.json.
 * Scripts (examples, Node test scripts) are transpiled the same way beside it.
 *
 * The npm packages (the SDK's dependencies and TypeScript) are installed once
 * per set of versions into a cache directory, from the npm registry; each
 * build is then a fresh directory inside it, so that Node resolves them by
 * walking up from the build.
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The TypeScript that transpiles the SDK: the last 5.x, whose tsc runs on Node 20. */
const TYPESCRIPT = "5.9.3";
const COMPLETE_MARKER = ".pulse-install-complete";

/** A built SDK and scripts, ready to run with Node. */
export interface NodeBuild {
  /** The build directory: `node_modules/@pulsecheckpoint/sdk/` and `app/`. */
  dir: string;
  /** Path of a transpiled script, from its path in the repository (`examples/quickstart.ts`). */
  script(path: string): string;
  /** Removes the build (not the installed packages). */
  remove(): Promise<void>;
}

/**
 * Transpiles the SDK and the given scripts for Node.
 * @param scripts repository paths of scripts that import `@pulsecheckpoint/sdk`
 */
export async function buildForNode(scripts: string[]): Promise<NodeBuild> {
  const packages = await Promise.all(
    PACKAGES.map(async (dir) => ({
      dir,
      config: JSON.parse(await Deno.readTextFile(`${ROOT}${dir}/deno.json`)) as PackageConfig,
    })),
  );
  const dependencies = Object.assign({}, ...packages.map((p) => npmDependencies(p.config.imports)));
  const cache = await installPackages({ ...dependencies, typescript: TYPESCRIPT });
  const dir = `${cache}/builds/${crypto.randomUUID()}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/package.json`,
    JSON.stringify({ private: true, type: "module" }),
  );
  // Each workspace package as JSR's npm layer publishes it; the SDK depends on
  // the contract package by name, as on JSR.
  const workspace = Object.fromEntries(packages.map((p) => [p.config.name, p.config.version]));
  for (const { dir: source, config } of packages) {
    const packageDir = `${dir}/node_modules/${config.name}`;
    await Deno.mkdir(packageDir, { recursive: true });
    const entryPoints = Object.values(config.exports).map((p) => `${ROOT}${source}/${p}`);
    await tsc(cache, packageDir, `${ROOT}${source}`, entryPoints);
    const own = { ...npmDependencies(config.imports), ...(source === "sdk" ? workspace : {}) };
    delete own[config.name];
    await Deno.writeTextFile(
      `${packageDir}/package.json`,
      JSON.stringify(packageJson(config, own), null, 2),
    );
  }
  await tsc(cache, `${dir}/app`, ROOT, scripts.map((p) => `${ROOT}${p}`));
  return {
    dir,
    script: (path) => `${dir}/app/${path.replace(/\.ts$/, ".js")}`,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The workspace packages, in build order: the contract first, then its client. */
const PACKAGES = ["proto", "sdk"];

interface PackageConfig {
  name: string;
  version: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

// "npm:@grpc/grpc-js@^1.14.7" -> { "@grpc/grpc-js": "^1.14.7" }
function npmDependencies(
  imports: Record<string, string>,
): Record<string, string> {
  const dependencies: Record<string, string> = {};
  for (const specifier of Object.values(imports)) {
    const match = /^npm:(@?[^@]+)@(.+)$/.exec(specifier);
    if (match) dependencies[match[1]!] = match[2]!;
  }
  return dependencies;
}

function packageJson(
  config: PackageConfig,
  dependencies: Record<string, string>,
) {
  const exports: Record<string, { types: string; default: string }> = {};
  for (const [subpath, file] of Object.entries(config.exports)) {
    const base = file.replace(/\.ts$/, "");
    exports[subpath] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  return {
    name: config.name,
    version: config.version,
    type: "module",
    exports,
    dependencies,
  };
}

// Installs the packages once into a directory named after their versions.
async function installPackages(
  packages: Record<string, string>,
): Promise<string> {
  const manifest = JSON.stringify(
    { private: true, type: "module", dependencies: packages },
    null,
    2,
  );
  const key = createHash("sha256").update(manifest).digest("hex").slice(0, 16);
  const cache = `${tmpdir()}/pulse-sdk-node-${key}`;
  if (await exists(`${cache}/${COMPLETE_MARKER}`)) return cache;
  // Installed beside, then renamed: a run that dies mid-install leaves no
  // half-installed cache behind, and two runs at once do not mix.
  const staging = `${cache}.${crypto.randomUUID()}`;
  await Deno.mkdir(staging, { recursive: true });
  await Deno.writeTextFile(`${staging}/package.json`, manifest);
  await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
  ], staging);
  await Deno.writeTextFile(`${staging}/${COMPLETE_MARKER}`, "");
  try {
    await Deno.rename(staging, cache);
  } catch {
    await Deno.remove(staging, { recursive: true }); // another run won
  }
  return cache;
}

async function tsc(
  cache: string,
  outDir: string,
  rootDir: string,
  files: string[],
): Promise<void> {
  await run("node", [
    `${cache}/node_modules/typescript/bin/tsc`,
    // Transpile only, as JSR does: types are Deno's job (`deno check`).
    "--noCheck",
    "--declaration",
    "--target",
    "es2022", // what Node 20 runs natively; `await using` is lowered
    // ES modules whatever the nearest package.json says, as JSR publishes.
    "--module",
    "es2022",
    "--moduleResolution",
    "bundler",
    "--rewriteRelativeImportExtensions",
    "--skipLibCheck",
    "--rootDir",
    rootDir,
    "--outDir",
    outDir,
    ...files,
  ], cache);
}

async function run(command: string, args: string[], cwd: string) {
  const output = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    const decoder = new TextDecoder();
    throw new Error(
      `${command} ${args.join(" ")} failed (${output.code}):\n` +
        decoder.decode(output.stdout) + decoder.decode(output.stderr),
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
