// SPDX-License-Identifier: MIT
// Reads a JSON array of Kubernetes objects on stdin and validates each
// against the API schema of its apiVersion and kind (kubernetes-models, the
// OpenAPI schemas of the Kubernetes release it was generated from). Prints a
// JSON array of {kind, name, error} with error null for a valid object.
// NODE_PATH names the node_modules that holds kubernetes-models.
"use strict";

function modelFor(apiVersion, kind) {
  let mod;
  try {
    mod = require(`kubernetes-models/${apiVersion}`);
  } catch (e) {
    return null;
  }
  return mod[kind] || null;
}

function check(obj) {
  const name = (obj.metadata || {}).name || "";
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return { kind: obj.kind, name, error: `no schema for ${obj.apiVersion} ${obj.kind}` };
  try {
    new Model(obj).validate();
    return { kind: obj.kind, name, error: null };
  } catch (e) {
    return { kind: obj.kind, name, error: String(e.message || e) };
  }
}

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(check)) + "\n");
});
