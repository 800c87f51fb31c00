import { useI18n, fill, type Key } from "../i18n";
import type { Schemas } from "../api/client";

type Sla = Schemas["TicketSlaOut"];

/** The time between two instants for a countdown: minutes under an hour, hours and minutes
 * under two days ("1 hr 59 min", "1小时59分钟"), else days. */
export function countdown(from: number, to: number, language: "en" | "zh"): string {
  const minutes = Math.max(0, Math.floor(Math.abs(to - from) / 60_000));
  const format = (value: number, unit: string) =>
    new Intl.NumberFormat(language === "zh" ? "zh-CN" : "en", { style: "unit", unit, unitDisplay: "short" }).format(value);
  if (minutes < 60) return format(minutes, "minute");
  if (minutes >= 48 * 60) return format(Math.floor(minutes / 1440), "day");
  const [hours, rest] = [Math.floor(minutes / 60), minutes % 60];
  const parts = rest === 0 ? [format(hours, "hour")] : [format(hours, "hour"), format(rest, "minute")];
  return parts.join(language === "zh" ? "" : " ");
}

/** Where a ticket's service levels stand: breached, due soon, due later, paused or met. */
export function slaState(sla: Sla | undefined, now = Date.now()): "breached" | "soon" | "due" | "paused" | "met" | null {
  if (!sla) return null;
  if (sla.breached) return "breached";
  if (sla.next_due_at) {
    const running = sla.targets.filter((target) => !target.achieved_at && !target.paused);
    const warned = running.some((target) => target.warn_at && new Date(target.warn_at).getTime() <= now);
    return warned ? "soon" : "due";
  }
  if (sla.targets.some((target) => !target.achieved_at && target.paused)) return "paused";
  return "met";
}

/** The next target's countdown ("First reply due in 25 min", "Overdue 10 min"). */
export function SlaBadge({ sla, now = Date.now() }: { sla: Sla | undefined; now?: number }) {
  const { t, language } = useI18n();
  const state = slaState(sla, now);
  if (!sla || !state) return null;
  const next = sla.targets
    .filter((target) => !target.achieved_at && !target.paused)
    .sort((a, b) => a.due_at.localeCompare(b.due_at))[0];
  const kind = next ? t(`sla.kind.${next.kind}` as Key) : "";
  const text =
    state === "breached" && next
      ? fill(t("sla.overdue"), { kind, time: countdown(new Date(next.due_at).getTime(), now, language) })
      : (state === "soon" || state === "due") && next
        ? fill(t("sla.dueIn"), { kind, time: countdown(now, new Date(next.due_at).getTime(), language) })
        : t(`sla.${state}` as Key);
  return (
    <span
      className={`badge sla sla-${state}`}
      title={`${sla.policy_name}${next ? ` · ${new Date(next.due_at).toLocaleString()}` : ""}`}
    >
      {text}
    </span>
  );
}
