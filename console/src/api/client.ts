// The typed API client. `schema.d.ts` is generated from /api/v1/openapi.json
// (`make console-client`); CI fails when it is stale, so a path or field the
// backend does not have is a type error here.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { session, signOut } from "../session";
import { router } from "../router";

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A refused call: the API's stable code and message. */
export class ApiFailure extends Error {
  constructor(public status: number, public code: string, message: string, public details?: unknown) {
    super(message);
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    if (session.token) request.headers.set("Authorization", `Bearer ${session.token}`);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status === 401) {
      // TOKEN_EXPIRED or a token the server no longer accepts: back to the login page, saying why
      const body = await response.clone().json().catch(() => null);
      const code = body?.error?.code ?? "UNAUTHORIZED";
      signOut(code === "TOKEN_EXPIRED" ? "expired" : "unauthorized");
      const here = router.currentRoute.value;
      if (here.name !== "login") router.push({ name: "login", query: { next: here.fullPath } });
    } else if (response.status === 403 && session.token && !new URL(request.url).pathname.endsWith("/admin/me")) {
      // FORBIDDEN is the role's refusal, or an account disabled since it signed in: /admin/me
      // (open to every role) tells them apart, and a disabled account goes back to the login page.
      const me = await fetch("/api/v1/admin/me", { headers: { Authorization: `Bearer ${session.token}` } });
      if (me.status === 401 || me.status === 403) {
        signOut("unauthorized");
        const here = router.currentRoute.value;
        if (here.name !== "login") router.push({ name: "login", query: { next: here.fullPath } });
      }
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(auth);

/** The data of a call, or an ApiFailure with the API's error code. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error as { error?: ApiErrorBody } | undefined)?.error;
  throw new ApiFailure(response.status, body?.code ?? `HTTP_${response.status}`,
    body?.message ?? response.statusText, body?.details);
}

/** For files (CSV, XLSX, PNG): fetch with the token, then save under the given name. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${session.token ?? ""}` } });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiFailure(response.status, body?.error?.code ?? `HTTP_${response.status}`, body?.error?.message ?? "");
  }
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  URL.revokeObjectURL(url);
}
