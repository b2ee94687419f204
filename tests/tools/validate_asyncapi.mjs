// Validate an AsyncAPI document with the official parser: node validate_asyncapi.mjs FILE
// Prints the diagnostics as JSON lines and exits 1 when any is an error.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
let errors = 0;
for (const d of diagnostics) {
  // severity 0 = error, 1 = warning
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path }));
  if (d.severity === 0) errors++;
}
if (!document || errors) process.exit(1);
console.log("valid");
