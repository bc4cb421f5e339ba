// Checks every object of rendered Kubernetes manifests against the API's JSON schema (types, required fields,
// enums), offline, with kubernetes-models. Fields the schema does not know are not reported: the schemas allow them.
//   npm ci --prefix deploy/k8s/validate && node deploy/k8s/validate/validate.mjs RENDERED.yaml...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

let valid = 0;
let invalid = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const obj = doc.toJS();
    if (!obj) {
      continue;
    }
    const slash = obj.apiVersion.indexOf("/");
    const module = slash < 0 ? `kubernetes-models/${obj.apiVersion}/${obj.kind}`
      : `kubernetes-models/${obj.apiVersion.slice(0, slash)}/${obj.apiVersion.slice(slash + 1)}/${obj.kind}`;
    try {
      const model = (await import(module))[obj.kind];
      new model(obj).validate();
      valid++;
    } catch (e) {
      invalid++;
      console.error(`${file}: ${obj.kind} ${obj.metadata?.name}: ${e.message}`);
    }
  }
}
console.log(`${valid} objects valid, ${invalid} invalid`);
process.exit(invalid ? 1 : 0);
