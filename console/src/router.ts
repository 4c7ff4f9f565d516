// Every page of the console, who may open it, and where it sits in the menu.
// A page's `roles` are the roles besides admin that may open it (admin opens all);
// the API refuses the same roles on its side, so the menu only mirrors that.
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { isSignedIn, mayOpen, type Role } from "./session";

declare module "vue-router" {
  interface RouteMeta {
    title?: string; // an i18n key
    roles?: Role[];
    menu?: string; // the menu group's i18n key; absent = not in the menu
    icon?: string;
    public?: boolean;
  }
}

const OPS: Role[] = ["operator"];
const ALL: Role[] = ["operator", "finance"];
const FINANCE: Role[] = ["finance"]; // the finance pages

export const pages: RouteRecordRaw[] = [
  { path: "", name: "dashboard", component: () => import("./views/DashboardView.vue"),
    meta: { title: "menu.dashboard", roles: ALL, menu: "menu.groups.overview", icon: "DataLine" } },
  { path: "users", name: "users", component: () => import("./views/UsersView.vue"),
    meta: { title: "menu.users", roles: OPS, menu: "menu.groups.distribution", icon: "User" } },
  { path: "users/:id(\\d+)", name: "user", component: () => import("./views/UserDetailView.vue"),
    meta: { title: "menu.user", roles: OPS } },
  { path: "orders", name: "orders", component: () => import("./views/OrdersView.vue"),
    meta: { title: "menu.orders", roles: ALL, menu: "menu.groups.shop", icon: "Tickets" } },
  { path: "orders/:id(\\d+)", name: "order", component: () => import("./views/OrderDetailView.vue"),
    meta: { title: "menu.order", roles: ALL } },
  { path: "products", name: "products", component: () => import("./views/ProductsView.vue"),
    meta: { title: "menu.products", roles: OPS, menu: "menu.groups.shop", icon: "Goods" } },
  { path: "catalog", name: "catalog", component: () => import("./views/catalog/CatalogSearchView.vue"),
    meta: { title: "menu.catalog", roles: OPS, menu: "menu.groups.shop", icon: "Search" } },
  { path: "catalog/imports", name: "catalog-imports", component: () => import("./views/catalog/CatalogImportView.vue"),
    meta: { title: "menu.catalog_imports", roles: OPS, menu: "menu.groups.shop", icon: "Upload" } },
  { path: "catalog/substitutes", name: "substitute-groups", component: () => import("./views/catalog/SubstituteGroupsView.vue"),
    meta: { title: "menu.substitute_groups", roles: OPS, menu: "menu.groups.shop", icon: "Connection" } },
  { path: "payouts", name: "payouts", component: () => import("./views/PayoutsView.vue"),
    meta: { title: "menu.payouts", roles: OPS, menu: "menu.groups.money", icon: "Wallet" } },
  { path: "withdrawals", name: "withdrawals", component: () => import("./views/WithdrawalsView.vue"),
    meta: { title: "menu.withdrawals", roles: OPS, menu: "menu.groups.money", icon: "Money" } },
  { path: "settings/distribution", name: "settings", component: () => import("./views/SettingsView.vue"),
    meta: { title: "menu.settings", roles: OPS, menu: "menu.groups.distribution", icon: "Setting" } },
  { path: "distributor-levels", name: "levels", component: () => import("./views/LevelsView.vue"),
    meta: { title: "menu.levels", roles: OPS, menu: "menu.groups.distribution", icon: "Medal" } },
  { path: "risk", name: "risk", component: () => import("./views/RiskView.vue"),
    meta: { title: "menu.risk", roles: OPS, menu: "menu.groups.distribution", icon: "Warning" } },
  { path: "targets", name: "targets", component: () => import("./views/TargetsView.vue"),
    meta: { title: "menu.targets", roles: OPS, menu: "menu.groups.distribution", icon: "Aim" } },
  { path: "channel", name: "channel", component: () => import("./views/ChannelView.vue"),
    meta: { title: "menu.channel", roles: OPS, menu: "menu.groups.distribution", icon: "FirstAidKit" } },
  { path: "leaderboards", name: "leaderboards", component: () => import("./views/LeaderboardsView.vue"),
    meta: { title: "menu.leaderboards", roles: OPS, menu: "menu.groups.growth", icon: "Trophy" } },
  { path: "campaigns", name: "campaigns", component: () => import("./views/CampaignsView.vue"),
    meta: { title: "menu.campaigns", roles: OPS, menu: "menu.groups.growth", icon: "Present" } },
  { path: "groups", name: "groups", component: () => import("./views/GroupsView.vue"),
    meta: { title: "menu.groups_page", roles: OPS, menu: "menu.groups.growth", icon: "ChatDotRound" } },
  { path: "funnel", name: "funnel", component: () => import("./views/FunnelView.vue"),
    meta: { title: "menu.funnel", roles: OPS, menu: "menu.groups.growth", icon: "Filter" } },
  { path: "analytics", name: "analytics", component: () => import("./views/AnalyticsView.vue"),
    meta: { title: "menu.analytics", roles: OPS, menu: "menu.groups.growth", icon: "Share" } },
  { path: "accounts", name: "accounts", component: () => import("./views/AccountsView.vue"),
    meta: { title: "menu.accounts", roles: [], menu: "menu.groups.system", icon: "Avatar" } },
  { path: "audit", name: "audit", component: () => import("./views/AuditView.vue"),
    meta: { title: "menu.audit", roles: OPS, menu: "menu.groups.system", icon: "Document" } },
  // --- finance (R1): counterparties, parts, price lists, purchase orders & receipts, price variance ---
  { path: "finance/counterparties", name: "finance-counterparties", component: () => import("./views/pricing/CounterpartiesView.vue"),
    meta: { title: "pricing.menu.counterparties", roles: FINANCE, menu: "menu.groups.finance", icon: "OfficeBuilding" } },
  { path: "finance/parts", name: "finance-parts", component: () => import("./views/pricing/PartsView.vue"),
    meta: { title: "pricing.menu.parts", roles: FINANCE, menu: "menu.groups.finance", icon: "Cpu" } },
  { path: "finance/price-lists", name: "finance-price-lists", component: () => import("./views/pricing/PriceListsView.vue"),
    meta: { title: "pricing.menu.price_lists", roles: FINANCE, menu: "menu.groups.finance", icon: "PriceTag" } },
  { path: "finance/purchase-orders", name: "finance-purchase-orders", component: () => import("./views/pricing/PurchaseOrdersView.vue"),
    meta: { title: "pricing.menu.purchase_orders", roles: FINANCE, menu: "menu.groups.finance", icon: "ShoppingCart" } },
  { path: "finance/purchase-orders/:id(\\d+)", name: "finance-purchase-order", component: () => import("./views/pricing/PurchaseOrderView.vue"),
    meta: { title: "pricing.menu.purchase_order", roles: FINANCE } },
  { path: "finance/price-variance", name: "finance-price-variance", component: () => import("./views/pricing/VarianceView.vue"),
    meta: { title: "pricing.menu.price_variance", roles: FINANCE, menu: "menu.groups.finance", icon: "TrendCharts" } },
  // --- end finance (R1) ---
  // R2 (finance): statement runs, a run, a statement, receivables / payables aging
  { path: "finance/statement-runs", name: "statement-runs", component: () => import("./views/StatementRunsView.vue"),
    meta: { title: "recon_statements.menu.runs", roles: FINANCE, menu: "menu.groups.finance", icon: "Files" } },
  { path: "finance/statement-runs/:id(\\d+)", name: "statement-run", component: () => import("./views/StatementRunView.vue"),
    meta: { title: "recon_statements.menu.run", roles: FINANCE } },
  { path: "finance/statements/:id(\\d+)", name: "statement", component: () => import("./views/StatementView.vue"),
    meta: { title: "recon_statements.menu.statement", roles: FINANCE } },
  { path: "finance/aging", name: "aging", component: () => import("./views/AgingView.vue"),
    meta: { title: "recon_statements.menu.aging", roles: FINANCE, menu: "menu.groups.finance", icon: "Histogram" } },
  { path: "forbidden", name: "forbidden", component: () => import("./views/ForbiddenView.vue"),
    meta: { title: "menu.forbidden" } },
  { path: ":rest(.*)*", name: "not-found", component: () => import("./views/NotFoundView.vue"),
    meta: { title: "menu.not_found" } },
];

export const router = createRouter({
  history: createWebHistory("/admin/"),
  routes: [
    { path: "/login", name: "login", component: () => import("./views/LoginView.vue"),
      meta: { title: "login.title", public: true } },
    { path: "/", component: () => import("./layout/AdminLayout.vue"), children: pages },
  ],
});

router.beforeEach((to) => {
  if (to.meta.public) return true;
  if (!isSignedIn()) return { name: "login", query: { next: to.fullPath } };
  if (!mayOpen(to.meta.roles)) return { name: "forbidden", query: { from: to.fullPath } };
  return true;
});
