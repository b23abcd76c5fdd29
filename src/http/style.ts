/** The dashboard's one stylesheet, served at /static/patchroll.css (no inline styles: the CSP forbids them). */
export const STYLESHEET = `
body { font-family: system-ui, sans-serif; margin: 0; color: #1c2529; background: #f6f8f9; }
header { display: flex; gap: 1.2em; align-items: center; padding: .6em 1.2em; background: #263238; color: #eceff1; flex-wrap: wrap; }
header a { color: #cfd8dc; text-decoration: none; margin-right: .9em; }
header a.current { color: #fff; border-bottom: 2px solid #4fc3f7; }
.brand { font-weight: 700; } .host { color: #80cbc4; } .who { margin-left: auto; }
main { padding: 1em 1.4em; max-width: 1200px; }
h1 { font-size: 1.4em; margin: .2em 0 .8em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; background: #fff; margin: .4em 0; }
th, td { text-align: left; padding: .3em .7em; border-bottom: 1px solid #e0e6e8; vertical-align: top; font-size: .92em; }
th { background: #eceff1; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; } pre { background: #eceff1; padding: .6em; overflow-x: auto; }
.badge { white-space: nowrap; display: inline-block; padding: .1em .5em; border-radius: 4px; color: #fff; font-size: .85em; background: #607d8b; }
.b-patched, .b-completed { background: #2e7d32; } .b-stale, .b-unverified, .b-running, .b-planned { background: #f9a825; color: #1c2529; }
.b-shadowed, .b-own-dpkg { background: #6d4c41; } .b-pinned, .b-rolled-back, .b-halted { background: #c62828; }
.b-rollback-failed { background: #6a1b1a; } .b-stopped, .b-skipped { background: #757575; }
.banner { padding: .7em 1em; border-radius: 6px; margin: .6em 0; }
.critical { background: #ffebee; border-left: 6px solid #c62828; } .warning { background: #fff8e1; border-left: 6px solid #f9a825; }
.ok { background: #e8f5e9; border-left: 6px solid #2e7d32; } .flash { background: #e3f2fd; border-left: 6px solid #1565c0; }
.runbook { margin-left: .6em; font-size: .9em; }
form.inline { display: inline; } form.controls { background: #fff; padding: .8em; border: 1px solid #e0e6e8; border-radius: 6px; }
form.controls input[type=text] { width: 30em; } button { margin: .2em .3em .2em 0; }
.readonly { color: #ffcc80; } .muted { color: #607d8b; } .timeline { background: #fff; border: 1px solid #e0e6e8; max-width: 100%; height: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25em 1em; } dl.facts dt { font-weight: 600; }
`;
