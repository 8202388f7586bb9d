#!/usr/bin/env -S node --max-semi-space-size=2
// The `device-rtc` command. The sources are TypeScript; tsx compiles them on the fly (esbuild, a few
// hundred milliseconds on first start), so `npx device-rtc` works straight after `npm ci` with no
// build step to remember.
//
// --max-semi-space-size=2 (MiB): media forwarding allocates many short-lived buffers; V8's default
// young generation grows to 48 MiB for them, which a small device would rather keep (measured: RSS
// 160 → 115 MB with the test source and one viewer, for a little more frequent scavenging).
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
