import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// Served by Flask at /admin/ (backend/admin/console.py); history-mode routes fall back
// to index.html there. During `npm run dev`, API calls go to the Flask server.
export default defineConfig({
  base: "/admin/",
  plugins: [vue()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Element Plus has no chunk of its own: naming its entry here would pull in every
        // component it re-exports (a third more JavaScript on the first load); left to
        // Rollup, only the components src/element.ts registers are bundled.
        manualChunks: {
          vue: ["vue", "vue-router", "vue-i18n"],
          echarts: ["echarts/core", "echarts/charts", "echarts/components", "echarts/renderers", "vue-echarts"],
        },
      },
    },
  },
  server: {
    proxy: { "/api": process.env.FISSION_API ?? "http://127.0.0.1:5000" },
  },
});
