import { createApp } from "vue";
import "element-plus/dist/index.css";
import App from "./App.vue";
import { useElement } from "./element";
import { router } from "./router";
import { i18n } from "./i18n";
import "./style.css";

// Element Plus's locale is set by App.vue's <el-config-provider> (it follows the console's language).
const app = createApp(App);
useElement(app);
app.use(i18n).use(router).mount("#app");
