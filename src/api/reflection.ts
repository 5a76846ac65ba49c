/**
 * Server reflection (grpcurl, Postman, ...) for the embedded contract.
 *
 * proto-loader builds its file descriptors with protobufjs, which writes one
 * file per package and leaves out each file's `dependency` list; reflection
 * clients such as grpcurl then cannot resolve `google.protobuf.Struct` from
 * `pulse.v1`. It also names map entry types after their field without the
 * `Entry` suffix protobuf requires (`Fields` for `Struct.fields`). This mends
 * both before the descriptors are served.
 */
import type { PackageDefinition } from "@grpc/proto-loader";
import type { PackageDefinition as PulsePackage } from "@pulsecheckpoint/proto";
import { ReflectionService } from "@grpc/reflection";
import type * as grpc from "@grpc/grpc-js";
import descriptor from "protobufjs/ext/descriptor/index.js";

interface MessageProto {
  name: string;
  field?: { name: string; typeName?: string }[];
  nestedType?: MessageProto[];
  enumType?: { name: string }[];
  options?: { mapEntry?: boolean };
}

interface FileProto {
  name: string;
  package?: string;
  dependency: string[];
  messageType?: MessageProto[];
  enumType?: { name: string }[];
  service?: { method?: { inputType?: string; outputType?: string }[] }[];
}

/** Adds reflection of every service in `definition` to `server`. */
export function addReflection(server: grpc.Server, definition: PulsePackage): void {
  new ReflectionService(withDependencies(definition as PackageDefinition)).addToServer(server);
}

function withDependencies(definition: PackageDefinition): PackageDefinition {
  const files = new Map<string, FileProto>();
  for (const type of Object.values(definition)) {
    for (
      const bytes of (type as { fileDescriptorProtos?: Uint8Array[] }).fileDescriptorProtos ?? []
    ) {
      const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as FileProto;
      files.set(file.name, file);
    }
  }
  // Which file defines each fully qualified type name (".pkg.Message").
  const owners = new Map<string, string>();
  const index = (
    prefix: string,
    file: string,
    messages: MessageProto[] = [],
    enums: { name: string }[] = [],
  ) => {
    for (const enumType of enums) owners.set(`${prefix}.${enumType.name}`, file);
    for (const message of messages) {
      owners.set(`${prefix}.${message.name}`, file);
      index(`${prefix}.${message.name}`, file, message.nestedType, message.enumType);
    }
  };
  for (const file of files.values()) {
    nameMapEntries(file.messageType);
    index(file.package ? `.${file.package}` : "", file.name, file.messageType, file.enumType);
  }
  // Type names are relative to the package (`google.protobuf.Struct` from
  // pulse.v1): look them up from the innermost package scope outwards.
  const ownerOf = (name: string, pkg: string): string | undefined => {
    if (name.startsWith(".")) return owners.get(name);
    const parts = pkg === "" ? [] : pkg.split(".");
    for (let i = parts.length; i >= 0; i--) {
      const owner = owners.get(`.${[...parts.slice(0, i), name].join(".")}`);
      if (owner !== undefined) return owner;
    }
    return undefined; // a nested type of the same file
  };
  const references = (messages: MessageProto[] = []): string[] =>
    messages.flatMap((message) => [
      ...(message.field ?? []).map((field) => field.typeName ?? ""),
      ...references(message.nestedType),
    ]);
  const encoded: Uint8Array[] = [];
  for (const file of files.values()) {
    const used = [
      ...references(file.messageType),
      ...(file.service ?? []).flatMap((service) =>
        (service.method ?? []).flatMap((
          method,
        ) => [method.inputType ?? "", method.outputType ?? ""])
      ),
    ];
    const dependencies = new Set(
      used.map((name) => ownerOf(name, file.package ?? "")).filter((owner) => owner !== undefined),
    );
    dependencies.delete(file.name);
    file.dependency = [...dependencies];
    encoded.push(descriptor.FileDescriptorProto.encode(file as never).finish());
  }
  return Object.fromEntries(
    Object.entries(definition).map((
      [name, type],
    ) => [name, { ...type, fileDescriptorProtos: encoded }]),
  ) as PackageDefinition;
}

// Renames map entry types as protobuf names them: `fields` -> `FieldsEntry`.
function nameMapEntries(messages: MessageProto[] = []): void {
  for (const message of messages) {
    for (const entry of message.nestedType ?? []) {
      if (!entry.options?.mapEntry) continue;
      const field = message.field?.find((field) => field.typeName === entry.name);
      if (field === undefined) continue;
      entry.name = field.name.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase()) +
        "Entry";
      field.typeName = entry.name;
    }
    nameMapEntries(message.nestedType);
  }
}
