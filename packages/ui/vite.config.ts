import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into the updraft package, which serves it at / (updraft webserver); UPDRAFT_UI_DIR builds elsewhere.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.UPDRAFT_UI_DIR ?? "../updraft/ui-dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
  server: { proxy: { "/api": "http://localhost:8080", "/auth": "http://localhost:8080" } },
});
