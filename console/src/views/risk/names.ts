// Nicknames of the users the risk views name by id only (the watch list, the evidence's
// "shared with"): learnt from the orders already fetched, else asked once per user
// (GET /admin/users?q=<id>, an exact id match).
import { reactive } from "vue";
import { api, unwrap } from "../../api/client";

export const nicknames = reactive<Record<number, string>>({});

export function learn(person: { id?: number; nickname?: string | null } | null | undefined): void {
  if (person?.id != null && person.nickname) nicknames[person.id] = person.nickname;
}

export async function lookUp(ids: (number | null | undefined)[]): Promise<void> {
  const missing = [...new Set(ids.filter((id): id is number => id != null && !(id in nicknames)))];
  await Promise.all(missing.map((id) => unwrap(api.GET("/api/v1/admin/users", { params: { query: { q: String(id), per_page: 20 } } }))
    .then((page) => learn((page.items ?? []).find((u) => u.id === id)))
    .catch(() => undefined))); // a name is a nicety: the id still shows
}
