// The layer rules of .dependency-cruiser.cjs hold for src/, and they catch a folder cycle, a UI import from a service and an import of scripts/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cruiseSrc, folderGraph, REPO_ROOT } from "./folder-graph.ts";

/** "rule: from → to" for each violation, so a failure names the import to fix. */
const violationsOf = (result: Awaited<ReturnType<typeof cruiseSrc>>) =>
  result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);

describe("src/'s layers", () => {
  it("break no rule of .dependency-cruiser.cjs, and its folders form no cycle", async () => {
    const result = await cruiseSrc(REPO_ROOT, { validate: true });
    expect(violationsOf(result)).toEqual([]);
    expect(result.summary.totalCruised).toBeGreaterThan(100);
    const graph = folderGraph(result);
    expect(graph.cycles).toEqual([]);
    expect(graph.folders).toEqual(expect.arrayContaining(["commands", "host", "python-env", "sidecar", "chat", "serve", "ui"]));
  });

  describe("on a tree that breaks them", () => {
    const root = mkdtempSync(join(tmpdir(), "glm-layers-"));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };

    it("reports each broken rule", async () => {
      write("tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", allowImportingTsExtensions: true, noEmit: true, jsx: "react-jsx" } }));
      write("src/download/fetch.ts", 'import { shape } from "../model/shape.ts";\nexport const fetchIt = () => shape;\n');
      write("src/model/shape.ts", 'import { fetchIt } from "../download/fetch.ts";\nexport const shape = 1;\nexport const again = () => fetchIt;\n');
      write("src/serve/route.ts", 'import { View } from "../ui/View.tsx";\nimport { bench } from "../../scripts/bench.ts";\nexport const route = [View, bench];\n');
      write("src/ui/View.tsx", "export const View = () => null;\n");
      write("scripts/bench.ts", "export const bench = 1;\n");
      const result = await cruiseSrc(root, { validate: true });
      const rules = new Set(result.summary.violations.map((v) => v.rule.name));
      expect([...rules].sort()).toEqual(expect.arrayContaining(["no-folder-cycle", "no-module-cycle", "src-not-to-scripts-or-test", "ui-only-from-commands"]));
      expect(folderGraph(result).cycles).toEqual([["download", "model", "download"]]);
    });
  });
});
