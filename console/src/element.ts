// The Element Plus components and icons the console uses, registered one by one instead
// of the whole library (`app.use(ElementPlus)` and every icon): the bundle then carries
// only these, which roughly halves the JavaScript the first load parses before it can
// paint (bench/console.py --console-load). tests/test_console_bundle.py fails when a
// page uses an <el-…> tag or an icon name that is not in these lists.
import type { App, Component, Plugin } from "vue";
import {
  ElAlert, ElAside, ElAvatar, ElButton, ElCard, ElCheckbox, ElCheckboxGroup, ElCol, ElConfigProvider, ElContainer, ElDatePicker,
  ElDescriptions, ElDescriptionsItem, ElDialog, ElDivider, ElDrawer, ElEmpty, ElForm, ElFormItem, ElHeader, ElIcon,
  ElImage, ElInput, ElInputNumber, ElLink, ElLoading, ElMain, ElMenu, ElMenuItem, ElMenuItemGroup, ElMessage,
  ElMessageBox, ElOption, ElPagination, ElProgress, ElRadio, ElRadioButton, ElRadioGroup, ElResult, ElRow, ElSelect, ElStep, ElSteps,
  ElSwitch, ElTabPane, ElTable, ElTableColumn, ElTabs, ElTag, ElTooltip, ElUpload,
} from "element-plus";
import {
  Aim, ArrowLeft, Avatar, Bell, ChatDotRound, CircleCheck, Connection, Cpu, DataLine, Delete, Document, Download, Files, Filter, FirstAidKit,
  Goods, Histogram, Medal, Menu, Money, OfficeBuilding, Plus, Present, PriceTag, Refresh, RefreshRight, Search, Setting,
  Share, ShoppingCart, Tickets, TrendCharts, Trophy, Upload, User, Wallet, Warning,
} from "@element-plus/icons-vue";

// A parent's install registers its parts too (ElTable → ElTableColumn, ElForm → ElFormItem …);
// the parts are listed as well so this list reads like the templates.
const COMPONENTS: Plugin[] = [
  ElAlert, ElAside, ElAvatar, ElButton, ElCard, ElCheckbox, ElCheckboxGroup, ElCol, ElConfigProvider, ElContainer, ElDatePicker,
  ElDescriptions, ElDescriptionsItem, ElDialog, ElDivider, ElDrawer, ElEmpty, ElForm, ElFormItem, ElHeader, ElIcon,
  ElImage, ElInput, ElInputNumber, ElLink, ElMain, ElMenu, ElMenuItem, ElMenuItemGroup, ElOption,
  ElPagination, ElProgress, ElRadio, ElRadioButton, ElRadioGroup, ElResult, ElRow, ElSelect, ElStep, ElSteps,
  ElSwitch, ElTabPane, ElTable, ElTableColumn, ElTabs, ElTag, ElTooltip, ElUpload,
  ElLoading, // the v-loading directive
  ElMessage, ElMessageBox, // called as functions; installed so they share the app's context
];

// By name: the menu's icons come from the routes (`meta.icon`), buttons name theirs (`:icon="'Plus'"`).
const ICONS: Record<string, Component> = {
  Aim, ArrowLeft, Avatar, Bell, ChatDotRound, CircleCheck, Connection, Cpu, DataLine, Delete, Document, Download, Files, Filter, FirstAidKit,
  Goods, Histogram, Medal, Menu, Money, OfficeBuilding, Plus, Present, PriceTag, Refresh, RefreshRight, Search, Setting,
  Share, ShoppingCart, Tickets, TrendCharts, Trophy, Upload, User, Wallet, Warning,
};

export function useElement(app: App): void {
  for (const plugin of COMPONENTS) app.use(plugin);
  for (const [name, icon] of Object.entries(ICONS)) app.component(name, icon);
}
