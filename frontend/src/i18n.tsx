// UI text in English and Chinese; the choice is kept per browser.
import { createContext, useContext, useState, type ReactNode } from "react";

const en = {
  "app.title": "Support copilot",
  "login.title": "Sign in",
  "login.tenant": "Workspace",
  "login.email": "E-mail",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.failed": "Sign-in failed",
  "nav.inbox": "Inbox",
  "nav.knowledge": "Knowledge",
  "nav.settings": "Settings",
  "nav.logout": "Sign out",
  "inbox.search": "Search subject and messages",
  "inbox.status": "Status",
  "inbox.priority": "Priority",
  "inbox.sentiment": "Sentiment",
  "inbox.language": "Language",
  "inbox.intent": "Intent",
  "inbox.any": "Any",
  "inbox.empty": "No tickets match.",
  "inbox.more": "Load more",
  "ticket.back": "Back to the inbox",
  "ticket.customer": "Customer",
  "ticket.note": "Internal note",
  "ticket.addNote": "Add note",
  "ticket.delivery": "Delivery",
  "author.customer": "Customer",
  "author.agent": "Agent",
  "author.note": "Note",
  "draft.title": "Draft reply",
  "draft.none": "No draft yet.",
  "draft.generating": "Writing…",
  "draft.failed": "The draft could not be written",
  "draft.superseded": "A newer customer message superseded this draft.",
  "draft.approved": "Approved and sent.",
  "draft.rejected": "Rejected",
  "draft.confidence": "Confidence",
  "draft.mode": "Mode",
  "draft.sources": "Sources",
  "draft.approve": "Approve and send",
  "draft.reject": "Reject",
  "draft.reason": "Why is this draft wrong?",
  "draft.regenerate": "Regenerate",
  "draft.instructions": "Instructions, e.g. shorter, more formal",
  "draft.shortcuts": "Ctrl+Enter approve · Ctrl+Shift+R regenerate",
  "knowledge.title": "Knowledge base",
  "knowledge.drop": "Drop files here or choose them",
  "knowledge.status": "Status",
  "knowledge.chunks": "Chunks",
  "knowledge.search": "Search the knowledge base",
  "language.switch": "中文",
  "settings.saved": "Saved.",
  "settings.llm.inEffect": "In effect:",
  "settings.llm.endpoint": "Endpoint (OpenAI-compatible)",
  "settings.llm.model": "Model",
  "settings.llm.key": "API key",
  "settings.keep": "(set; leave empty to keep it)",
  "settings.llm.budget": "Monthly token budget",
  "settings.llm.save": "Save LLM settings",
  "settings.email.title": "E-mail",
  "settings.email.ready": "Replies can be sent.",
  "settings.email.notReady": "Replies cannot be sent yet: set an address and an SMTP server.",
  "settings.email.addresses": "Support addresses (comma-separated; the first is the From)",
  "settings.email.fromName": "From name",
  "settings.email.smtp": "SMTP URL",
  "settings.email.serviceSmtp": "(empty: the service's)",
  "settings.email.save": "Save e-mail settings",
  "settings.webhooks.title": "Webhooks",
  "settings.webhooks.url": "Endpoint URL",
  "settings.webhooks.events": "Events",
  "settings.webhooks.add": "Add endpoint",
  "settings.webhooks.secret": "Signing secret (shown once):",
  "settings.webhooks.retry": "Retry",
  "settings.webhooks.enabled": "enabled",
  "settings.webhooks.disabled": "disabled",
  "settings.webhooks.attempts": "attempt(s)",
} as const;

export type Key = keyof typeof en;

/** Every text key. */
export const KEYS = Object.keys(en) as Key[];

const zh: Record<Key, string> = {
  "app.title": "客服助手",
  "login.title": "登录",
  "login.tenant": "工作区",
  "login.email": "邮箱",
  "login.password": "密码",
  "login.submit": "登录",
  "login.failed": "登录失败",
  "nav.inbox": "收件箱",
  "nav.knowledge": "知识库",
  "nav.settings": "设置",
  "nav.logout": "退出",
  "inbox.search": "搜索主题和消息",
  "inbox.status": "状态",
  "inbox.priority": "优先级",
  "inbox.sentiment": "情绪",
  "inbox.language": "语言",
  "inbox.intent": "意图",
  "inbox.any": "全部",
  "inbox.empty": "没有符合条件的工单。",
  "inbox.more": "加载更多",
  "ticket.back": "返回收件箱",
  "ticket.customer": "客户",
  "ticket.note": "内部备注",
  "ticket.addNote": "添加备注",
  "ticket.delivery": "发送状态",
  "author.customer": "客户",
  "author.agent": "客服",
  "author.note": "备注",
  "draft.title": "回复草稿",
  "draft.none": "暂无草稿。",
  "draft.generating": "正在撰写…",
  "draft.failed": "草稿生成失败",
  "draft.superseded": "客户发来了新消息，此草稿已作废。",
  "draft.approved": "已批准并发送。",
  "draft.rejected": "已拒绝",
  "draft.confidence": "置信度",
  "draft.mode": "方式",
  "draft.sources": "来源",
  "draft.approve": "批准并发送",
  "draft.reject": "拒绝",
  "draft.reason": "这份草稿有什么问题？",
  "draft.regenerate": "重新生成",
  "draft.instructions": "要求，例如：更简短、更正式",
  "draft.shortcuts": "Ctrl+Enter 批准 · Ctrl+Shift+R 重新生成",
  "knowledge.title": "知识库",
  "knowledge.drop": "把文件拖到这里，或点击选择",
  "knowledge.status": "状态",
  "knowledge.chunks": "分块",
  "knowledge.search": "搜索知识库",
  "language.switch": "English",
  "settings.saved": "已保存。",
  "settings.llm.inEffect": "当前使用：",
  "settings.llm.endpoint": "接口地址（兼容 OpenAI）",
  "settings.llm.model": "模型",
  "settings.llm.key": "API 密钥",
  "settings.keep": "（已设置；留空则保持不变）",
  "settings.llm.budget": "每月 token 预算",
  "settings.llm.save": "保存 LLM 设置",
  "settings.email.title": "邮件",
  "settings.email.ready": "可以发送回复。",
  "settings.email.notReady": "还不能发送回复：请设置地址和 SMTP 服务器。",
  "settings.email.addresses": "客服邮箱（用逗号分隔；第一个为发件人）",
  "settings.email.fromName": "发件人名称",
  "settings.email.smtp": "SMTP 地址",
  "settings.email.serviceSmtp": "（留空：使用服务默认）",
  "settings.email.save": "保存邮件设置",
  "settings.webhooks.title": "Webhook 推送",
  "settings.webhooks.url": "接收地址",
  "settings.webhooks.events": "事件",
  "settings.webhooks.add": "添加接收地址",
  "settings.webhooks.secret": "签名密钥（仅显示一次）：",
  "settings.webhooks.retry": "重试",
  "settings.webhooks.enabled": "已启用",
  "settings.webhooks.disabled": "已停用",
  "settings.webhooks.attempts": "次尝试",
};

export type Language = "en" | "zh";
const dictionaries: Record<Language, Record<Key, string>> = { en, zh };

export function translate(language: Language, key: Key): string {
  return dictionaries[language][key];
}

const LanguageContext = createContext<{ language: Language; toggle: () => void }>({
  language: "en",
  toggle: () => {},
});

export function LanguageProvider({ children, initial }: { children: ReactNode; initial?: Language }) {
  const stored = (typeof localStorage !== "undefined" && localStorage.getItem("copilot.language")) as Language | null;
  const [language, setLanguage] = useState<Language>(initial ?? stored ?? "en");
  const toggle = () => {
    const next = language === "en" ? "zh" : "en";
    localStorage.setItem("copilot.language", next);
    document.documentElement.lang = next;
    setLanguage(next);
  };
  return <LanguageContext.Provider value={{ language, toggle }}>{children}</LanguageContext.Provider>;
}

/** The current language, its toggle, and `t(key)`. */
export function useI18n() {
  const { language, toggle } = useContext(LanguageContext);
  return { language, toggle, t: (key: Key) => translate(language, key) };
}
