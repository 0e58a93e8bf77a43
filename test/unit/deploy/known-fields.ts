import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Unknown-field check of Kubernetes objects. kubernetes-models' validators check types, required
 * fields and enums but accept fields the API does not have (a typo such as `readinessProbes` would
 * pass and be dropped by the API server). This walks each object against the TypeScript declaration
 * of its kind, read with the TypeScript compiler from the same packages: kubernetes-models 4.5.1,
 * @kubernetes-models/keda 0.4.2, and for the Prometheus operator's ServiceMonitor (no model package
 * pinned here) the hand-written subset in ./service-monitor.ts.
 */

/** `apiVersion/kind` -> [module specifier, exported interface]. */
const KINDS: Readonly<Record<string, readonly [string, string]>> = {
  "v1/Namespace": ["kubernetes-models/v1/Namespace", "INamespace"],
  "v1/ServiceAccount": ["kubernetes-models/v1/ServiceAccount", "IServiceAccount"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "IConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "ISecret"],
  "v1/Service": ["kubernetes-models/v1/Service", "IService"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "IDeployment"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "IStatefulSet"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "IPodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "INetworkPolicy"],
  "keda.sh/v1alpha1/ScaledObject": ["@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", "IScaledObject"],
  "monitoring.coreos.com/v1/ServiceMonitor": ["./service-monitor.js", "IServiceMonitor"],
};

/** The kinds the checker knows (`apiVersion/kind`). */
export const KNOWN_KINDS: ReadonlySet<string> = new Set(Object.keys(KINDS));

/** Returns the problems of `obj` (unknown fields, wrong primitive types) as `path: message`. */
export type KnownFieldsCheck = (obj: Record<string, unknown>) => string[];

const HERE = dirname(fileURLToPath(import.meta.url));

/** Builds the checker: one TypeScript program over the declarations (about 2 s). */
export function createKnownFieldsCheck(): KnownFieldsCheck {
  const entry = join(HERE, "__kinds__.ts"); // virtual: never written
  const source = Object.entries(KINDS)
    .map(([k, [mod, name]], i) => `import type { ${name} as T${i} } from ${JSON.stringify(mod)};\nexport type K${i} = T${i}; // ${k}`)
    .join("\n");
  const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (f === entry ? ts.createSourceFile(f, source, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => f === entry || fileExists.call(host, f);
  host.readFile = (f) => (f === entry ? source : readFile.call(host, f));
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry)!;
  const unresolved = ts.getPreEmitDiagnostics(program, sf).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  if (unresolved.length > 0) throw new Error(`known-fields: cannot load the model declarations: ${unresolved.join("; ")}`);
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!);
  const typeOfKind = new Map<string, ts.Type>();
  Object.keys(KINDS).forEach((k, i) => typeOfKind.set(k, checker.getDeclaredTypeOfSymbol(exports.find((s) => s.name === `K${i}`)!)));

  const propType = (p: ts.Symbol): ts.Type => checker.getNonNullableType(checker.getTypeOfSymbol(p));

  function walk(value: unknown, type: ts.Type, path: string, out: string[]): void {
    if (value === null || value === undefined) return;
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (type.isUnion()) {
      const members = type.types.filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
      if (members.length === 1) return walk(value, members[0]!, path, out);
      // IntOrString and the like: the first member that accepts the value without problems.
      let best: string[] | undefined;
      for (const m of members) {
        const found: string[] = [];
        walk(value, m, path, found);
        if (found.length === 0) return;
        if (best === undefined || found.length < best.length) best = found;
      }
      out.push(...(best ?? []));
      return;
    }
    const primitive = primitiveOf(type);
    if (primitive !== undefined) {
      if (typeof value !== primitive) out.push(`${path}: expected a ${primitive}, got ${JSON.stringify(value)}`);
      return;
    }
    if (checker.isArrayType(type)) {
      if (!Array.isArray(value)) return void out.push(`${path}: expected a list`);
      const element = checker.getTypeArguments(type as ts.TypeReference)[0]!;
      value.forEach((v, i) => walk(v, element, `${path}[${i}]`, out));
      return;
    }
    if (!(type.flags & ts.TypeFlags.Object) || typeof value !== "object" || Array.isArray(value)) {
      if (type.flags & ts.TypeFlags.Object && (typeof value !== "object" || Array.isArray(value))) out.push(`${path}: expected an object`);
      return;
    }
    const index = checker.getIndexInfosOfType(type).find((i) => i.keyType.flags & ts.TypeFlags.String);
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = checker.getPropertyOfType(type, k);
      if (p !== undefined) walk(v, propType(p), `${path}.${k}`, out);
      else if (index !== undefined) walk(v, index.type, `${path}.${k}`, out);
      else out.push(`${path}.${k}: unknown field (known: ${checker.getPropertiesOfType(type).map((s) => s.name).join(", ")})`);
    }
  }

  return (obj) => {
    const key = `${String(obj.apiVersion)}/${String(obj.kind)}`;
    const type = typeOfKind.get(key);
    if (type === undefined) return [`${key}: no schema known for this kind (known: ${[...typeOfKind.keys()].join(", ")})`];
    const out: string[] = [];
    walk(obj, type, "", out);
    return out.map((s) => (s.startsWith(".") ? s.slice(1) : s));
  };
}

function primitiveOf(t: ts.Type): "string" | "number" | "boolean" | undefined {
  if (t.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) return "string";
  if (t.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return "number";
  if (t.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return "boolean";
  return undefined;
}
