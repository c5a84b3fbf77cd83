/**
 * Reading authoring files: JSON text → nodes (one node or an array of nodes per file) with their
 * locations, then the named nodes registered under unique names (no user `sys/`).
 *
 * @module
 */
import { AosError, jsonPath, type JsonValue, parseJson } from "../base/mod.ts";
import {
  AIR_KINDS,
  type AirNode,
  builtinCapHash,
  builtinEffectHash,
  builtinSchemaHash,
  type Manifest,
  type NamedNodeKind,
  nodeHash,
  parseAirNode,
} from "../nodes/mod.ts";
import type { AirDiagnosticCode, Diagnostic, DiagnosticSink, Segments, Where } from "./_diagnostics.ts";
import { type NodeEntry, nodeKey } from "./_scope.ts";

/** One AIR text file: its path (as shown in diagnostics) and content. */
export interface AirFile {
  path: string;
  text: string;
}

/** A node parsed from a file. */
export interface ParsedNode {
  node: AirNode;
  file: string;
  at: Segments;
}

/** The nodes of a set of files. */
export interface ParsedFiles {
  named: ParsedNode[];
  /** The first valid manifest. */
  manifest?: ParsedNode & { node: Manifest };
  /** True when some manifest, valid or not, was found. */
  sawManifest: boolean;
  /** Keys of named nodes already reported as broken. */
  quiet: Set<string>;
}

function isPlainObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNamedKind(kind: string): kind is NamedNodeKind {
  return kind !== "manifest" && (AIR_KINDS as readonly string[]).includes(kind);
}

/** Parses `files` (in path order, so diagnostics are deterministic). */
export function parseFiles(files: ReadonlyArray<AirFile>, sink: DiagnosticSink): ParsedFiles {
  const out: ParsedFiles = { named: [], sawManifest: false, quiet: new Set() };
  let firstManifest: string | undefined;
  const parseNode = (value: JsonValue, file: string, at: Segments): void => {
    const kind = isPlainObject(value) && typeof value["$kind"] === "string" ? value["$kind"] : undefined;
    const name = isPlainObject(value) && typeof value["name"] === "string" ? value["name"] : undefined;
    if (kind === "manifest") {
      out.sawManifest = true;
      if (firstManifest === undefined) firstManifest = `${file}:${jsonPath(at)}`;
      else {
        const message = `Expected exactly one manifest: the first is at ${firstManifest}`;
        sink.error("AIR_MANIFEST_DUPLICATE", message, { file, at });
      }
    }
    const result = parseAirNode(value);
    if (!result.ok) {
      for (const issue of result.issues) {
        const where: Where = { file, at: [...at, ...issue.path], def: name };
        // Parser codes are a subset of the loader's (AIR_SHAPE, AIR_NAME_INVALID, AIR_KIND_*, …).
        sink.error(issue.code as AirDiagnosticCode, issue.message, where);
      }
      if (kind !== undefined && name !== undefined && isNamedKind(kind)) out.quiet.add(nodeKey(kind, name));
      return;
    }
    const node = result.node;
    if (node.$kind === "manifest") {
      // Only the first valid manifest is checked further.
      if (out.manifest === undefined) out.manifest = { node, file, at };
      return;
    }
    out.named.push({ node, file, at });
  };
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) {
    let value: JsonValue;
    try {
      value = parseJson(file.text, file.path);
    } catch (error) {
      if (!(error instanceof AosError) || error.code !== "AOS_JSON_INVALID") throw error;
      const diagnostic: Diagnostic = { code: "AIR_JSON_INVALID", message: error.message, file: file.path };
      if (error.context.path !== undefined) diagnostic.path = error.context.path;
      sink.addAll([diagnostic]);
      continue;
    }
    if (Array.isArray(value)) value.forEach((item, i) => parseNode(item, file.path, [i]));
    else parseNode(value, file.path, []);
  }
  return out;
}

function builtinHash(kind: NamedNodeKind, name: string): string | undefined {
  if (kind === "defschema") return builtinSchemaHash(name);
  if (kind === "defcap") return builtinCapHash(name);
  if (kind === "defeffect") return builtinEffectHash(name);
  return undefined;
}

/** Registers named nodes by key: a user `sys/` name or a second node of one kind and name is reported. */
export function registerNodes(parsed: ParsedFiles, sink: DiagnosticSink): Map<string, NodeEntry> {
  const entries = new Map<string, NodeEntry>();
  for (const { node, file, at } of parsed.named) {
    if (node.$kind === "manifest") continue;
    const key = nodeKey(node.$kind, node.name);
    const where: Where = { file, at: [...at, "name"], def: node.name };
    if (node.name.startsWith("sys/")) {
      // The original AgentOS has worlds restate the built-ins they use: an identical copy is the built-in.
      const builtin = builtinHash(node.$kind, node.name);
      if (builtin !== undefined && builtin === nodeHash(node)) continue;
      const message = builtin === undefined
        ? `Name "${node.name}" uses the reserved sys/ namespace`
        : `"${node.name}" differs from the built-in ${node.$kind} of that name (restating it must be identical)`;
      sink.error("AIR_SYS_RESERVED", message, where);
      parsed.quiet.add(key);
      continue;
    }
    const first = entries.get(key);
    if (first !== undefined) {
      const message = `Duplicate ${node.$kind} "${node.name}": first defined at ${first.file}:${
        jsonPath(first.at)
      }`;
      sink.error("AIR_NAME_DUPLICATE", message, where);
      continue;
    }
    entries.set(key, { kind: node.$kind, name: node.name, node, hash: nodeHash(node), file, at });
  }
  return entries;
}
