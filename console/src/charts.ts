// ECharts for the whole console: only the charts and components the pages use are
// registered (the full build is ~1 MB). Pages import `VChart` from here, never
// from "echarts" itself, so the registration runs once and the bundle stays small.
import { use } from "echarts/core";
import { BarChart, FunnelChart, LineChart, PieChart } from "echarts/charts";
import {
  DatasetComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import VChart from "vue-echarts";

use([CanvasRenderer, LineChart, BarChart, PieChart, FunnelChart,
  GridComponent, TooltipComponent, LegendComponent, TitleComponent, DatasetComponent]);

export { VChart };

/** The console's series colours (Element Plus primary, success, warning, danger, info…). */
export const PALETTE = ["#409eff", "#67c23a", "#e6a23c", "#f56c6c", "#909399", "#7b61ff", "#13c2c2"];
