// Parses Mermaid files with Mermaid's own parser (in jsdom, no browser) and says which fail.
// Usage: node check.mjs FILE... ; exit 1 when any fails. Run by tests/hooks/test_diagram.py.
import fs from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
Object.defineProperty(globalThis, "navigator", { value: dom.window.navigator, configurable: true });

const mermaid = (await import("mermaid")).default;
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(fs.readFileSync(file, "utf8"));
    console.log(`${file}: ok (${result.diagramType})`);
  } catch (error) {
    failed += 1;
    console.log(`${file}: FAILED ${String(error.message || error)}`);
  }
}
process.exit(failed ? 1 : 0);
