// A paged list inside a page (a tab, a dialog): like usePagedList, but its filters and
// page stay in the component, not the URL.
import { reactive, ref, watch } from "vue";
import { showError } from "../notify";
import type { Page } from "./usePagedList";

export function useLocalList<T, F extends Record<string, unknown>>(
  defaults: F,
  load: (query: F & { page: number; per_page: number }) => Promise<Page<T>>,
  { immediate = true } = {},
) {
  const filters = reactive({ ...defaults }) as F;
  const page = ref(1);
  const perPage = ref(20);
  const items = ref<T[]>([]) as { value: T[] };
  const total = ref(0);
  const loading = ref(false);
  const loaded = ref(false);

  async function reload() {
    loading.value = true;
    try {
      const clean = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined && v !== ""));
      const result = await load({ ...(clean as F), page: page.value, per_page: perPage.value });
      items.value = result.items;
      total.value = result.total;
      loaded.value = true;
    } catch (e) {
      showError(e);
    } finally {
      loading.value = false;
    }
  }

  function search() {
    if (page.value === 1) reload();
    else page.value = 1;
  }

  watch([page, perPage], reload);
  if (immediate) reload();
  return { filters, page, perPage, items, total, loading, loaded, reload, search };
}
