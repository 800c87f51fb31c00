import type { Language } from "./i18n";

/** A duration in the reader's language, in its largest whole unit ("3 hr", "3小时"). */
export function duration(since: string, language: Language, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - new Date(since).getTime()) / 60_000));
  const [value, unit] =
    minutes < 60 ? [minutes, "minute"] : minutes < 48 * 60 ? [Math.floor(minutes / 60), "hour"] : [Math.floor(minutes / 1440), "day"];
  return new Intl.NumberFormat(language === "zh" ? "zh-CN" : "en", { style: "unit", unit, unitDisplay: "short" }).format(value);
}
