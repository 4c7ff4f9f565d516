// One way to tell the operator a call was refused: the API's code, in their language.
import { ElMessage } from "element-plus";
import { ApiFailure } from "./api/client";
import { i18n } from "./i18n";

export function errorText(e: unknown): string {
  const { t, te } = i18n.global;
  if (e instanceof ApiFailure) {
    const key = `errors.${e.code}`;
    return te(key) ? `${t(key)} (${e.code})` : `${e.message || e.code} (${e.code})`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function showError(e: unknown): void {
  if (e instanceof ApiFailure && e.status === 401) return; // the client already sent them to login
  ElMessage.error({ message: errorText(e), duration: 6000, showClose: true });
}

export function showDone(text: string): void {
  ElMessage.success({ message: text, duration: 2500 });
}
