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
        manualChunks: {
          vue: ["vue", "vue-router", "vue-i18n"],
          "element-plus": ["element-plus", "@element-plus/icons-vue"],
          echarts: ["echarts/core", "echarts/charts", "echarts/components", "echarts/renderers", "vue-echarts"],
        },
      },
    },
  },
  server: {
    proxy: { "/api": process.env.FISSION_API ?? "http://127.0.0.1:5000" },
  },
});
