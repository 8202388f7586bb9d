import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The web app (src/web/app), built to dist/web and served by `device-rtc serve`. */
export default defineConfig({
  root: fileURLToPath(new URL("src/web/app", import.meta.url)),
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("dist/web", import.meta.url)),
    emptyOutDir: true,
    target: "es2020",
  },
  logLevel: "warn",
});
