// A paged list page: filters and the page live in the URL (so a list can be shared and
// survives a reload), every change loads again, and a refused call is shown, not swallowed.
import { reactive, ref, watch } from "vue";
import { useRoute, useRouter } from "vue-router";
import { showError } from "../notify";

export interface Page<T> { items: T[]; page: number; per_page: number; total: number }

export function usePagedList<T, F extends Record<string, string | undefined>>(
  defaults: F,
  load: (query: F & { page: number; per_page: number }) => Promise<Page<T>>,
) {
  const route = useRoute();
  const router = useRouter();
  const filters = reactive({ ...defaults }) as F;
  for (const key of Object.keys(defaults)) {
    const v = route.query[key];
    if (typeof v === "string") (filters as Record<string, string | undefined>)[key] = v;
  }
  const page = ref(Number(route.query.page ?? 1) || 1);
  const perPage = ref(Number(route.query.per_page ?? 20) || 20);
  const items = ref<T[]>([]) as { value: T[] };
  const total = ref(0);
  const loading = ref(false);

  async function reload() {
    loading.value = true;
    try {
      const clean = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined && v !== ""));
      const result = await load({ ...(clean as F), page: page.value, per_page: perPage.value });
      items.value = result.items;
      total.value = result.total;
    } catch (e) {
      showError(e);
    } finally {
      loading.value = false;
    }
  }

  function syncUrl() {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== "") query[k] = String(v);
    if (page.value !== 1) query.page = String(page.value);
    if (perPage.value !== 20) query.per_page = String(perPage.value);
    router.replace({ query });
  }

  /** Apply the filters from the first page. */
  function search() {
    page.value = 1;
    syncUrl();
    reload();
  }

  function reset() {
    Object.assign(filters, defaults);
    search();
  }

  watch([page, perPage], () => {
    syncUrl();
    reload();
  });

  reload();
  return { filters, page, perPage, items, total, loading, reload, search, reset };
}
