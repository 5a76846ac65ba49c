/**
 * The one function of `@cdktf/hcl2json` the tests use. Its own type
 * declarations pull in `@types/node`, whose stream types clash with Deno's in
 * the rest of the type-checked test tree, so they are replaced by this.
 */

/** Parses HCL source into its JSON form; rejects with the parser's message. */
export function parse(
  filename: string,
  contents: string,
): Promise<Record<string, unknown>>;
