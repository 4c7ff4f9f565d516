// A list answer ({items, page, per_page, total}; every field optional in the generated
// types) as the Page that usePagedList shows.
import type { Page } from "../composables/usePagedList";

interface ListAnswer<T> { items?: T[]; page?: number; per_page?: number; total?: number }

export async function asPage<T>(answer: Promise<ListAnswer<T>>): Promise<Page<T>> {
  const r = await answer;
  return { items: r.items ?? [], page: r.page ?? 1, per_page: r.per_page ?? 20, total: r.total ?? 0 };
}
