import { describe, expect, it } from "vitest";
import { parseImports } from "../../src/detect/interpreters/imports.js";
import { languageOf, parseInvocation } from "../../src/detect/interpreters/language.js";
import { resolveModule } from "../../src/detect/interpreters/resolve.js";

describe("which interpreter a process is, and what it was told to run", () => {
  it("tells languages from the program and, for busybox, the applet", () => {
    expect(languageOf("/usr/bin/python3.11", ["python3", "app.py"])).toBe("python");
    expect(languageOf("/usr/bin/perl", ["perl"])).toBe("perl");
    expect(languageOf("/usr/bin/ruby3.1", ["ruby"])).toBe("ruby");
    expect(languageOf("/usr/bin/node", ["node"])).toBe("node");
    expect(languageOf("/usr/sbin/php-fpm8.2", ["php-fpm"])).toBe("php");
    expect(languageOf("/usr/bin/dash", ["/bin/sh", "/usr/bin/x"])).toBe("shell");
    expect(languageOf("/usr/bin/busybox", ["/bin/sh", "x"])).toBe("shell");
    expect(languageOf("/usr/bin/busybox", ["/bin/busybox", "httpd", "-f"])).toBeUndefined();
    expect(languageOf("/usr/sbin/nginx", ["nginx"])).toBeUndefined();
  });

  it("finds the script, inline code and modules past the options", () => {
    expect(parseInvocation("python", ["python3", "-u", "-W", "ignore", "/srv/app.py", "-c", "x"])).toMatchObject({ script: "/srv/app.py", modules: [] });
    expect(parseInvocation("python", ["python3", "-Esc", "import os", "arg"])).toMatchObject({ inline: "import os\n" });
    expect(parseInvocation("python", ["python3", "-m", "http.server", "8000"])).toMatchObject({ modules: ["http.server"] });
    expect(parseInvocation("python", ["python3"])).toMatchObject({ unknownCode: expect.stringContaining("no script") });
    expect(parseInvocation("perl", ["perl", "-w", "-I/opt/lib", "-MFoo::Bar=baz", "-l0", "/srv/app.pl"])).toMatchObject({ script: "/srv/app.pl", modules: ["Foo::Bar"], includeDirs: ["/opt/lib"] });
    expect(parseInvocation("perl", ["perl", "-e", "use POSIX; sleep 1", "x"])).toMatchObject({ inline: "use POSIX; sleep 1\n" });
    expect(parseInvocation("shell", ["/bin/sh", "-e", "+x", "/usr/bin/job", "a"])).toMatchObject({ script: "/usr/bin/job" });
    expect(parseInvocation("shell", ["/bin/sh", "-c", ". /usr/lib/x/lib.sh; run"])).toMatchObject({ inline: ". /usr/lib/x/lib.sh; run\n" });
    expect(parseInvocation("node", ["node", "--require", "./trace.js", "--max-old-space-size=512", "server.js"])).toMatchObject({ script: "server.js", modules: ["./trace.js"] });
    expect(parseInvocation("php", ["php-fpm8.2"])).toMatchObject({ unknownCode: expect.stringContaining("PHP") });
  });
});

describe("what a source file loads", () => {
  it("Python: import and from-import, submodule candidates, computed imports", () => {
    const p = parseImports("python", "import os, json as j\nfrom a.b import c, d as e\nfrom . import sib\n# import commented\nx = __import__(name)\n");
    expect(p.modules).toEqual(["os", "json", "a.b", "a.b.c?", "a.b.d?", ".", ".sib?"]);
    expect(p.dynamic).toMatch(/computed name/);
    expect(parseImports("python", "import time\n").dynamic).toBeUndefined();
  });

  it("Perl: use, require, parent lists; POD, __END__ and version pragmas left out", () => {
    const p = parseImports("perl", "use strict;\nuse 5.010;\nuse parent qw(Base::One Base::Two);\nrequire Foo::Bar;\nrequire 'lib/x.pl';\n=pod\nuse Not::Code;\n=cut\n__END__\nuse After::End;\n");
    expect(p.modules.sort()).toEqual(["Base::One", "Base::Two", "Foo::Bar", "parent", "strict"]);
    expect(p.files).toEqual(["lib/x.pl"]);
    expect(parseImports("perl", "require $module;\n").dynamic).toMatch(/computed/);
  });

  it("Ruby, Node.js, PHP and shell", () => {
    expect(parseImports("ruby", "require 'json'\nrequire_relative 'lib/x'\n")).toMatchObject({ modules: ["json"], files: ["lib/x"] });
    expect(parseImports("node", "const fs = require('node:fs');\nimport x from './x.js';\nexport { y } from \"y\";\n").modules).toEqual(["node:fs", "./x.js", "y"]);
    expect(parseImports("node", "require(name)").dynamic).toMatch(/computed/);
    expect(parseImports("php", "require_once __DIR__ . '/vendor/a.php';\ninclude 'b.php';\n")).toEqual({ modules: [], files: ["__DIR__/vendor/a.php", "b.php"] });
    expect(parseImports("php", "include $page;\n").dynamic).toMatch(/computed/);
    expect(parseImports("shell", ". /usr/lib/x/lib.sh\nif true; then source '/etc/x.conf'; fi\n")).toEqual({ modules: [], files: ["/usr/lib/x/lib.sh", "/etc/x.conf"] });
    expect(parseImports("shell", '. "$DIR/lib.sh"\n').dynamic).toMatch(/computed/);
  });
});

describe("resolving a module as the interpreter would", () => {
  const files = new Set(["/usr/lib/python3.11/os.py", "/usr/lib/python3/dist-packages/a/__init__.py", "/usr/lib/python3/dist-packages/a/b.py", "/usr/share/perl5/Foo/Bar.pm", "/srv/app/node_modules/left/index.js", "/srv/app/x.js"]);
  const exists = (p: string) => files.has(p);
  const py = ["/usr/lib/python3.11", "/usr/lib/python3/dist-packages"];

  it("Python packages load their __init__.py; an optional name that is no submodule loads nothing more", () => {
    expect(resolveModule("python", "a.b", "/srv/app.py", py, exists)).toEqual(["/usr/lib/python3/dist-packages/a/__init__.py", "/usr/lib/python3/dist-packages/a/b.py"]);
    expect(resolveModule("python", "os.path?", "/srv/app.py", py, exists)).toEqual(["/usr/lib/python3.11/os.py"]);
    expect(resolveModule("python", "time", "/srv/app.py", py, exists)).toEqual([]);
    expect(resolveModule("python", ".b", "/usr/lib/python3/dist-packages/a/__init__.py", py, exists)).toEqual(["/usr/lib/python3/dist-packages/a/b.py"]);
  });

  it("Perl on @INC, Node.js through node_modules and relative paths, builtins never", () => {
    expect(resolveModule("perl", "Foo::Bar", "/srv/app.pl", ["/etc/perl", "/usr/share/perl5"], exists)).toEqual(["/usr/share/perl5/Foo/Bar.pm"]);
    expect(resolveModule("node", "left", "/srv/app/server.js", [], exists)).toEqual(["/srv/app/node_modules/left/index.js"]);
    expect(resolveModule("node", "./x", "/srv/app/server.js", [], exists)).toEqual(["/srv/app/x.js"]);
    expect(resolveModule("node", "fs", "/srv/app/server.js", [], exists)).toEqual([]);
  });
});
