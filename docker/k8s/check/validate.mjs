// node validate.mjs FILE...: every document of the YAML files checked
// against its kind's JSON schema (kubernetes-models for Kubernetes' own
// kinds, @kubernetes-models/cloudnative-pg for CloudNativePG's Cluster,
// @kubernetes-models/argo-cd for Argo CD's Application: both generated
// from the CRDs their projects publish; all validating with ajv). "-"
// reads standard input (kubectl kustomize's output). Prints one line a
// document; exits 1 on any error.

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const packages = {
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io",
  "argoproj.io": "@kubernetes-models/argo-cd/argoproj.io",
};

async function model(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/")
    ? apiVersion.split("/") : ["", apiVersion];
  const base = packages[group]
    ?? (group ? `kubernetes-models/${group}` : "kubernetes-models");
  const mod = await import(`${base}/${version}/${kind}.js`)
    .catch(() => import(`${base}/${version}`));
  return mod[kind] ?? mod.default;
}

let failed = 0;
let checked = 0;

for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file === "-" ? 0 : file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) {
      console.log(`${file}: YAML: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const obj = doc.toJS();
    if (!obj) continue;
    if (!obj.apiVersion || !obj.kind) {
      console.log(`${file}: a document without apiVersion and kind`);
      failed++;
      continue;
    }
    const name = `${file}: ${obj.kind} ${obj.metadata?.name}`;
    try {
      const Model = await model(obj.apiVersion, obj.kind);
      if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
      new Model(obj).validate();
      console.log(`${name}: valid`);
      checked++;
    } catch (e) {
      console.log(`${name}: INVALID: ${e.message}`);
      failed++;
    }
  }
}

console.log(`${checked} valid, ${failed} invalid`);
process.exit(failed ? 1 : 0);
