import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseInvocation } from "../../src/detect/interpreters/language.js";
import { loadedCode } from "../../src/detect/interpreters/loaded-code.js";
import { hostRoots } from "../../src/detect/interpreters/search-path.js";

// A container's files as a scratch tree: container path P lives at ROOT/P.
let root: string;
const put = (path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};
const locate = (path: string) => {
  try {
    return statSync(join(root, path)).isFile() ? join(root, path) : undefined;
  } catch {
    return undefined;
  }
};

beforeAll(() => {
  root = mkdtempSync("/var/tmp/patchroll-test-loaded-");
  put("/usr/lib/py/json/__init__.py", "from .decoder import JSONDecoder\n");
  put("/usr/lib/py/json/decoder.py", "import re\n");
  put("/usr/lib/py/re.py", "");
  put("/usr/lib/py/unused.py", "");
  put("/opt/own/helper.py", "");
  put("/srv/app.py", "import sys\nsys.path.insert(0, '/opt/own')\nimport json\nimport helper\n");
  put("/srv/dyn.py", "import importlib\nm = importlib.import_module(name)\n");
  put("/usr/share/perl5/Foo.pm", "package Foo;\nuse Bar;\n1;\n");
  put("/usr/share/perl5/Bar.pm", "package Bar;\n1;\n");
  put("/opt/plib/Local.pm", "package Local;\n1;\n");
  put("/srv/app.pl", "use lib '/opt/plib';\nuse Foo;\nuse Local;\n");
  put("/srv/gem.pl", "use Not::There;\n");
  put("/srv/app.js", "const fs = require('fs');\nconst x = require('./x');\nconst y = require('left-pad');\n");
  put("/srv/x.js", "module.exports = 1;\n");
  put("/usr/lib/python3/dist-packages/requests/__init__.py", "from . import api\n");
  put("/usr/lib/python3/dist-packages/requests/api.py", "");
  put("/usr/lib/python3.11/os.py", "");
  put("/usr/share/perl/5.36/POSIX.pm", "package POSIX;\n1;\n");
  put("/srv/delta.py", "import requests\n");
  put("/srv/delta.pl", "use POSIX;\n");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("following what a process loads", () => {
  it("Python: the script, what it imports (transitively, relative imports too), and the dirs it adds; nothing else", () => {
    const code = loadedCode(parseInvocation("python", ["python3", "/srv/app.py"]), "/", ["/usr/lib/py"], locate);
    expect(code.files.sort()).toEqual(["/opt/own/helper.py", "/srv/app.py", "/usr/lib/py/json/__init__.py", "/usr/lib/py/json/decoder.py", "/usr/lib/py/re.py"]);
    expect(code.undecidable).toBeUndefined();
    expect(code.script).toBe("/srv/app.py");
  });

  it("Python: a computed import makes it undecidable (then it may have loaded anything on its path)", () => {
    const code = loadedCode(parseInvocation("python", ["python3", "dyn.py"]), "/srv", ["/usr/lib/py"], locate);
    expect(code.undecidable).toMatch(/computed name/);
    expect(code.roots).toEqual(expect.arrayContaining(["/usr/lib/py", "/srv"]));
  });

  it("Perl: use lib, modules through @INC transitively; an unknown module of its own makes it undecidable", () => {
    expect(loadedCode(parseInvocation("perl", ["perl", "/srv/app.pl"]), "/", ["/usr/share/perl5"], locate)).toMatchObject({ files: ["/srv/app.pl", "/usr/share/perl5/Foo.pm", "/opt/plib/Local.pm", "/usr/share/perl5/Bar.pm"] });
    expect(loadedCode(parseInvocation("perl", ["perl", "/srv/gem.pl"]), "/", ["/usr/share/perl5"], locate).undecidable).toMatch(/Not::There, which is not on its search path/);
  });

  it("Node.js: relative requires found, builtins skipped, a package nowhere on its paths undecidable", () => {
    const code = loadedCode(parseInvocation("node", ["node", "/srv/app.js"]), "/", [], locate);
    expect(code.files).toEqual(["/srv/app.js", "/srv/x.js"]);
    expect(code.undecidable).toMatch(/left-pad/);
  });

  it("a missing script or code from stdin is undecidable", () => {
    expect(loadedCode(parseInvocation("python", ["python3", "/srv/gone.py"]), "/", [], locate).undecidable).toMatch(/cannot be found/);
    expect(loadedCode(parseInvocation("python", ["python3", "-"]), "/", [], locate).undecidable).toMatch(/stdin/);
  });

  it("an interpreter whose search path is unknown (not the host's program): the standard host roots, never only its script's dir", () => {
    const list = (dir: string) => {
      try {
        return readdirSync(join(root, dir), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      } catch {
        return [];
      }
    };
    const py = hostRoots("python", list);
    expect(py).toEqual(expect.arrayContaining(["/usr/lib/python3/dist-packages", "/usr/lib/python3.11"]));
    const code = loadedCode(parseInvocation("python", ["python3", "/srv/delta.py"]), "/", py, locate);
    expect(code.files).toEqual(expect.arrayContaining(["/usr/lib/python3/dist-packages/requests/__init__.py", "/usr/lib/python3/dist-packages/requests/api.py", "/usr/lib/python3.11/os.py"]));
    // What it may have loaded is looked for there too, not only under /srv.
    expect(code.roots).toEqual(expect.arrayContaining(["/usr/lib/python3/dist-packages", "/usr/lib/python3.11", "/srv"]));
    const pl = hostRoots("perl", list);
    expect(pl).toEqual(expect.arrayContaining(["/usr/share/perl/5.36", "/usr/share/perl5"]));
    expect(loadedCode(parseInvocation("perl", ["perl", "/srv/delta.pl"]), "/", pl, locate).files).toEqual(["/srv/delta.pl", "/usr/share/perl/5.36/POSIX.pm"]);
    expect(hostRoots("ruby", list)).toEqual(expect.arrayContaining(["/usr/lib/ruby", "/usr/share/rubygems-integration"]));
    expect(hostRoots("node", list)).toEqual(expect.arrayContaining(["/usr/lib/node_modules", "/usr/share/nodejs"]));
    expect(hostRoots("php", list)).toEqual(["/usr/share/php"]);
  });
});
