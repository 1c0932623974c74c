#!/usr/bin/env node
// The installed `glm-chat` command: registers tsx's loader and runs the TypeScript CLI in this process.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// The package's own tsconfig (JSX: react-jsx), wherever the command is run from: tsx would look in the cwd.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
// React's production build: the development one does several times the work per rendered frame.
process.env.NODE_ENV ??= "production";
await import("../src/cli.tsx");
