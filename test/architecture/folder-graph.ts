// src/'s folder graph: dependency-cruiser's module graph collapsed to the top-level folders, with its edges and cycles; run it to print them.
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cruise, type ICruiseOptions, type ICruiseResult } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";

/** This checkout's root: its .dependency-cruiser.cjs holds the layer rules. */
export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const RULES_FILE = join(REPO_ROOT, ".dependency-cruiser.cjs");

/** The files directly in src/ (the composition root) count as one node. */
export const ROOT_NODE = "src/";

export interface FolderEdge {
  from: string;
  to: string;
  /** How many imports (module to module) make the edge. */
  imports: number;
}

export interface FolderGraph {
  folders: string[];
  edges: FolderEdge[];
  /** Each set of folders that reach one another, as a path that walks it; empty when the folders form layers. */
  cycles: string[][];
}

/** Cruises `root`/src with the rules file (`validate`: also checks the rules; the violations are in the summary). */
export async function cruiseSrc(root: string, options: { validate?: boolean; rulesFile?: string } = {}): Promise<ICruiseResult> {
  const configured = await extractDepcruiseOptions(options.rulesFile ?? RULES_FILE);
  const cruiseOptions: ICruiseOptions = { ...configured, baseDir: root, validate: options.validate ?? false };
  if (!options.validate) delete cruiseOptions.ruleSet;
  const tsConfig = extractTSConfig(join(root, "tsconfig.json"));
  const { output } = await cruise(["src"], cruiseOptions, undefined, { tsConfig });
  if (typeof output === "string") throw new Error(`dependency-cruiser returned text, not a result: ${output.slice(0, 200)}`);
  return output;
}

/** "src/chat/prompt.ts" → "chat"; "src/cli.tsx" → "src/"; undefined outside src/ (packages, Node's modules, scripts/, test/). */
export function folderOf(modulePath: string): string | undefined {
  const parts = modulePath.split("/");
  if (parts[0] !== "src" || parts.length < 2) return undefined;
  return parts.length === 2 ? ROOT_NODE : parts[1];
}

export function folderGraph(result: Pick<ICruiseResult, "modules">): FolderGraph {
  const folders = new Set<string>();
  const counts = new Map<string, number>();
  for (const module of result.modules) {
    const from = folderOf(module.source);
    if (from === undefined) continue;
    folders.add(from);
    for (const dependency of module.dependencies) {
      const to = dependency.coreModule || dependency.couldNotResolve ? undefined : folderOf(dependency.resolved);
      if (to === undefined || to === from) continue;
      const key = `${from}\n${to}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const edges = [...counts].map(([key, imports]) => {
    const [from = "", to = ""] = key.split("\n");
    return { from, to, imports };
  }).sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const sorted = [...folders].sort();
  return { folders: sorted, edges, cycles: cyclesOf(sorted, edges) };
}

/** Tarjan's strongly connected components of more than one folder, each as a closed walk through all of its folders. */
function cyclesOf(folders: readonly string[], edges: readonly FolderEdge[]): string[][] {
  const next = new Map(folders.map((f) => [f, edges.filter((e) => e.from === f).map((e) => e.to)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) component.push(w);
    if (component.length > 1) components.push(component.sort());
  };
  for (const f of folders) if (!index.has(f)) visit(f);
  return components.map((component) => walk(component, next));
}

/** A closed walk from the component's first folder that passes through every folder of it (shortest hops, greedily). */
function walk(component: readonly string[], next: ReadonlyMap<string, string[]>): string[] {
  const inside = new Set(component);
  const path = (from: string, to: string): string[] => {
    const previous = new Map<string, string>([[from, from]]);
    const queue = [from];
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
      for (const w of next.get(v) ?? []) {
        if (!inside.has(w) || previous.has(w)) continue;
        previous.set(w, v);
        if (w === to) queue.length = 0;
        else queue.push(w);
      }
    }
    const hops = [to];
    while (hops[0] !== from) hops.unshift(previous.get(hops[0]!)!);
    return hops.slice(1);
  };
  const start = component[0]!;
  const route = [start];
  const unseen = new Set(component.slice(1));
  while (unseen.size) {
    const target = [...unseen][0]!;
    for (const hop of path(route.at(-1)!, target)) (route.push(hop), unseen.delete(hop));
  }
  return [...route, ...(route.at(-1) === start ? [] : path(route.at(-1)!, start))];
}

export function formatFolderGraph(graph: FolderGraph): string {
  const lines = [`folders (${graph.folders.length}): ${graph.folders.join(" ")}`, `edges (${graph.edges.length}), imports in brackets:`];
  for (const folder of graph.folders) {
    const out = graph.edges.filter((e) => e.from === folder);
    lines.push(`  ${folder.padEnd(11)} → ${out.length ? out.map((e) => `${e.to} [${e.imports}]`).join(", ") : "(nothing)"}`);
  }
  lines.push(graph.cycles.length ? `cycles (${graph.cycles.length}):` : "cycles: none");
  for (const cycle of graph.cycles) {
    const members = [...new Set(cycle)].sort();
    lines.push(`  ${members.length} folders, ${members.join(" ")}; a walk through them: ${cycle.join(" → ")}`);
  }
  return `${lines.join("\n")}\n`;
}

// `npm run folder-graph [-- DIR]`: the graph of DIR/src (default: this checkout's).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(process.argv[2] ?? REPO_ROOT);
  process.stdout.write(formatFolderGraph(folderGraph(await cruiseSrc(root))));
}
