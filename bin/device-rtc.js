#!/usr/bin/env node
// The `device-rtc` command. The sources are TypeScript; tsx compiles them on the fly (esbuild, a few
// hundred milliseconds on first start), so `npx device-rtc` works straight after `npm ci` with no
// build step to remember.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
