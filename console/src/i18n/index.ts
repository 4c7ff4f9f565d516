// zh-CN first, English second. Both files have the same keys: tests/test_console_i18n.py
// fails on a key missing from either, or on a t("...") in the code that neither has.
import { createI18n } from "vue-i18n";
import zhCN from "./zh-CN.json";
import en from "./en.json";

export type Locale = "zh-CN" | "en";
const KEY = "fission.console.locale";

export const i18n = createI18n({
  legacy: false,
  locale: (localStorage.getItem(KEY) as Locale | null) ?? "zh-CN",
  fallbackLocale: "zh-CN",
  messages: { "zh-CN": zhCN, en },
  missingWarn: false,
  fallbackWarn: false,
});

export function setLocale(locale: Locale) {
  i18n.global.locale.value = locale;
  localStorage.setItem(KEY, locale);
  document.documentElement.lang = locale;
}
