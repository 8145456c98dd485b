// node to-json.mjs < FILE: the YAML documents of standard input as one
// JSON array (t/k8s.t reads the rendered overlays with it).

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const docs = parseAllDocuments(readFileSync(0, "utf8"))
  .map((d) => d.toJS())
  .filter((d) => d);

console.log(JSON.stringify(docs));
