#!/usr/bin/env node
// The installed `glm-chat` command: registers tsx's loader and runs the TypeScript CLI in this process.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.tsx");
