/**
 * The runtime's Deno permissions against what its configuration names: a
 * certificate or data directory out of their reach fails at start with one
 * line saying which path and how to allow it, instead of a raw `NotCapable`
 * later. The compiled executable's permissions are fixed when it is built,
 * so this is the operator's only warning.
 */
import { type Config, ConfigError, outsidePermissions, type SettingName } from "./config.ts";

/** @throws {ConfigError} naming the first setting whose path is out of reach */
export function checkPermissions(config: Config): void {
  const needs: [SettingName, "read" | "write"][] = [
    ["server.tls_cert", "read"],
    ["server.tls_key", "read"],
    ["server.tls_client_ca", "read"],
  ];
  if (config["storage.backend"] === "fs") {
    needs.push(["storage.path", "read"], ["storage.path", "write"]);
  }
  for (const [setting, access] of needs) {
    const path = config[setting] as string;
    if (path === "") continue;
    if (Deno.permissions.querySync({ name: access, path }).state === "granted") continue;
    throw new ConfigError(`Cannot start: ${setting} ${path}: ${outsidePermissions(access, path)}`);
  }
}
