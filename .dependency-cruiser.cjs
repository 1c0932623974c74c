// The layers of src/ as rules dependency-cruiser checks (test/architecture/layers.test.ts runs them in `npm test`; docs: STYLE.md §1).
/** Node's modules that touch the outside world: files, sockets, processes, terminals. */
const IO_MODULES = "^(node:)?(fs|fs/promises|net|http|https|http2|dgram|tls|child_process|cluster|worker_threads|readline|readline/promises|tty)$";
/** Packages that do I/O for us. */
const IO_PACKAGES = "^(zeromq|execa|undici)$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-folder-cycle",
      comment: "The folders of src/ form layers: no folder may reach itself through others (test/architecture also checks the top-level folders).",
      severity: "error",
      scope: "folder",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-module-cycle",
      comment: "No module reaches itself through its imports.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "ui-only-from-commands",
      comment: "Ink components, hooks and view state serve the front ends: only commands/ (and ui/ itself) import ui/.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(commands|ui)/" },
      to: { path: "^src/ui/" },
    },
    {
      name: "commands-only-from-cli",
      comment: "The front ends are composed by cli.tsx alone; no service layer reaches up into one.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli\\.tsx$|commands/)" },
      to: { path: "^src/commands/" },
    },
    {
      name: "nothing-imports-cli",
      comment: "cli.tsx is the composition root: it imports, it is not imported.",
      severity: "error",
      from: {},
      to: { path: "^src/cli\\.tsx$" },
    },
    {
      name: "src-not-to-scripts-or-test",
      comment: "scripts/ (benchmarks, dev commands) and test/ sit on top of src/, never under it.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(scripts|test)/" },
    },
    {
      name: "src-not-to-dev-dependencies",
      comment: "The installed package has no devDependencies.",
      severity: "error",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"] },
    },
    {
      name: "src-not-to-unresolvable",
      comment: "Every import resolves to a file or an installed package.",
      severity: "error",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
    {
      name: "protocol-no-io",
      comment: "protocol/ is the TS half of the wire contract: message types, codec, guards. No I/O.",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: { path: [IO_MODULES, IO_PACKAGES] },
    },
    {
      name: "protocol-imports-only-protocol",
      comment: "The wire contract stands alone: every other layer may use it, it uses none of them.",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: { path: "^src/", pathNot: "^src/protocol/" },
    },
    {
      name: "sidecar-not-to-front-ends",
      comment: "sidecar/ is the supervisor and the client: it knows nothing of the front ends or the HTTP mapping.",
      severity: "error",
      from: { path: "^src/sidecar/" },
      to: { path: "^src/(commands|ui|serve|python-env)/" },
    },
    {
      name: "chat-is-the-core",
      comment: "chat/ (prompt rules, history, context budget, sessions) talks to a ChatBackend; it knows no engine, front end or HTTP.",
      severity: "error",
      from: { path: "^src/chat/" },
      to: { path: "^src/(commands|ui|serve|sidecar|python-env|host|download|model)/" },
    },
    {
      name: "serve-not-to-front-ends",
      comment: "serve/ maps HTTP onto the chat core; its command (flags, start-up, console) is in commands/.",
      severity: "error",
      from: { path: "^src/serve/" },
      to: { path: "^src/(commands|ui|host|python-env|download)/" },
    },
    {
      name: "lower-layers-not-up",
      comment: "host/, download/, model/, config/ and util/ are facts and services: no front end, UI, HTTP, chat, sidecar or Python setup.",
      severity: "error",
      from: { path: "^src/(host|download|model|config|util)/" },
      to: { path: "^src/(commands|ui|serve|chat|sidecar|python-env)/" },
    },
    {
      name: "python-env-not-up",
      comment: "python-env/ prepares the sidecar's Python (it throws the sidecar's errors); it knows no front end, UI, HTTP or chat.",
      severity: "error",
      from: { path: "^src/python-env/" },
      to: { path: "^src/(commands|ui|serve|chat)/" },
    },
    {
      name: "util-and-config-are-leaves",
      comment: "util/ (formatting) and config/ (paths) import nothing else of src/.",
      severity: "error",
      from: { path: "^src/(util|config)/" },
      to: { path: "^src/", pathNot: "^src/(util|config)/" },
    },
  ],
  options: {
    doNotFollow: { path: "^(node_modules|scripts|test)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".mjs", ".js"], conditionNames: ["import", "node", "default"], exportsFields: ["exports"], mainFields: ["module", "main"] },
    moduleSystems: ["es6", "cjs"],
  },
};
