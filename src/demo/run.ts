import { cleanupDemo } from "./cleanup.js";
import { DEMO_BASE, DEMO_PACKAGE, runDemo } from "./main.js";
import { Narrator } from "./narrator.js";

const n = new Narrator();
try {
  if (process.getuid?.() !== 0) throw new Error("the demo creates LXC containers and installs a package: run it as root");
  if (process.argv.includes("--cleanup")) {
    await cleanupDemo(DEMO_BASE, DEMO_PACKAGE);
    n.say(`removed the demo's containers, the ${DEMO_PACKAGE} package and ${DEMO_BASE}`);
  } else {
    await runDemo(n);
  }
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
