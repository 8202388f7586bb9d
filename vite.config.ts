import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The web app (src/web/app), built to dist/web and served by `device-rtc serve`. */
export default defineConfig({
  root: fileURLToPath(new URL("src/web/app", import.meta.url)),
  base: "./",
  build: {
    outDir: fileURLToPath(new URL("dist/web", import.meta.url)),
    emptyOutDir: true,
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL("src/web/app/index.html", import.meta.url)),
        login: fileURLToPath(new URL("src/web/app/login.html", import.meta.url)),
      },
    },
    target: "es2020",
  },
  logLevel: "warn",
});
