// Who is signed in: the admin token, its role and when it expires. Kept in
// localStorage so a reload keeps the session; cleared on logout or expiry.
import { reactive } from "vue";

export type Role = "admin" | "operator" | "finance";

interface SessionState {
  token: string | null;
  role: Role | null;
  username: string | null;
  expiresAt: string | null;
  // why the user was sent back to the login page ("expired", "forbidden"...)
  endedBecause: string | null;
}

const KEY = "fission.console.session";

function load(): SessionState {
  const empty = { token: null, role: null, username: null, expiresAt: null, endedBecause: null };
  try {
    return { ...empty, ...JSON.parse(localStorage.getItem(KEY) ?? "{}") };
  } catch {
    return empty;
  }
}

export const session = reactive<SessionState>(load());

function save() {
  const { token, role, username, expiresAt } = session;
  localStorage.setItem(KEY, JSON.stringify({ token, role, username, expiresAt }));
}

export function signIn(token: string, role: Role, username: string, expiresAt: string | null) {
  Object.assign(session, { token, role, username, expiresAt, endedBecause: null });
  save();
}

export function signOut(reason: string | null = null) {
  Object.assign(session, { token: null, role: null, username: null, expiresAt: null, endedBecause: reason });
  save();
}

export function isSignedIn(): boolean {
  if (!session.token) return false;
  if (session.expiresAt && Date.parse(session.expiresAt) <= Date.now()) {
    signOut("expired");
    return false;
  }
  return true;
}

/** Admins may open every page; other roles only the pages that name them
 * (no list: every signed-in role; an empty list: admins only). */
export function mayOpen(roles: Role[] | undefined): boolean {
  if (roles === undefined) return true;
  return session.role === "admin" || (session.role !== null && roles.includes(session.role));
}
