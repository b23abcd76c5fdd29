import { writeFileSync } from "node:fs";
import { renderConfigReference } from "./reference.js";

/** `npm run docs`: rewrites docs/configuration.md from the schema. */
const target = process.argv[2] ?? "docs/configuration.md";
writeFileSync(target, renderConfigReference());
process.stdout.write(`wrote ${target}\n`);
