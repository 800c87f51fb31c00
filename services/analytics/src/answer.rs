//! Presenting an answer: the chart its query's shape calls for, a plain sentence written
//! from its rows, and the check that every number a model's sentence states comes from
//! those rows (or is computed directly from them), so that a sentence cannot invent one.

use serde_json::Value;

use crate::{catalogue::Kind, query::Plan, run::Answer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    Line,
    Bar,
    StackedBar,
    Table,
    Number,
}

impl ChartKind {
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Line => "line",
            ChartKind::Bar => "bar",
            ChartKind::StackedBar => "stacked_bar",
            ChartKind::Table => "table",
            ChartKind::Number => "number",
        }
    }
}

/// How to draw an answer: `x` and `series` name group columns, `y` measure columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub kind: ChartKind,
    pub x: Option<String>,
    pub y: Vec<String>,
    pub series: Option<String>,
}

/// The chart for a plan: one number without groups; a line over time buckets (one line per
/// value of a second group); bars for one group, stacked bars for two with one measure; a
/// table otherwise.
pub fn chart(plan: &Plan) -> Chart {
    let measures: Vec<String> = plan.measures.iter().map(|m| m.name.clone()).collect();
    let is_time = |i: usize| plan.groups[i].bucket.is_some() && plan.groups[i].field.kind == Kind::Time;
    let name = |i: usize| Some(plan.groups[i].name.clone());
    let table = Chart { kind: ChartKind::Table, x: None, y: measures.clone(), series: None };
    match plan.groups.len() {
        0 if measures.len() == 1 => Chart { kind: ChartKind::Number, x: None, y: measures, series: None },
        0 => table,
        1 => {
            let kind = if is_time(0) { ChartKind::Line } else { ChartKind::Bar };
            Chart { kind, x: name(0), y: measures, series: None }
        }
        2 if measures.len() == 1 => {
            let (x, series) = match (is_time(0), is_time(1)) {
                (false, true) => (1, 0),
                _ => (0, 1),
            };
            let kind = if is_time(x) { ChartKind::Line } else { ChartKind::StackedBar };
            Chart { kind, x: name(x), y: measures, series: name(series) }
        }
        _ => table,
    }
}

/// A number as a sentence states it.
#[derive(Clone, Debug, PartialEq)]
struct Stated {
    text: String,
    value: f64,
    /// How far the value may be from what it states, by the digits written.
    tolerance: f64,
}

/// The numbers written in digits in `text` (ASCII or full-width): with thousands
/// separators, a decimal point, a sign, and a multiplier that follows (`3k`, `1.2M`, `3万`,
/// `2亿`): `1,234.5`, `-0.42`, `12%`.
fn stated(text: &str) -> Vec<Stated> {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if ('０'..='９').contains(&c) { char::from_u32(c as u32 - 0xFEE0).unwrap_or(c) } else { c })
        .collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        let mut decimals = 0;
        let mut in_fraction = false;
        while i < chars.len() {
            let c = chars[i];
            let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() {
                digits.push(c);
                decimals += i32::from(in_fraction);
            } else if c == ',' && !in_fraction && next_is_digit {
                // A thousands separator.
            } else if c == '.' && !in_fraction && next_is_digit {
                digits.push('.');
                in_fraction = true;
            } else {
                break;
            }
            i += 1;
        }
        let end = i;
        // A minus sign, unless it joins two words or numbers (`2026-11-23`).
        let negative =
            start > 0 && matches!(chars[start - 1], '-' | '−') && (start < 2 || !chars[start - 2].is_alphanumeric());
        let after = |k: usize| chars.get(end + k).copied();
        let word_follows = |k: usize| after(k).is_some_and(char::is_alphabetic);
        let (multiplier, used) = match (after(0), after(1)) {
            (Some('k' | 'K'), _) if !word_follows(1) => (1e3, 1),
            (Some('M'), _) if !word_follows(1) => (1e6, 1),
            (Some('百'), Some('万')) => (1e6, 2),
            (Some('千'), _) => (1e3, 1),
            (Some('万'), _) => (1e4, 1),
            (Some('亿'), _) => (1e8, 1),
            _ => (1.0, 0),
        };
        if let Ok(value) = digits.parse::<f64>() {
            // An integer that ends in zeros after two or more other digits may be a rounding
            // to those digits (`about 1,200` for 1,234).
            let significant = digits.trim_end_matches('0');
            let rounded_to = if decimals == 0 && significant.len() >= 2 { digits.len() - significant.len() } else { 0 };
            let step = if rounded_to > 0 { 10f64.powi(rounded_to as i32) } else { 10f64.powi(-decimals) };
            let sign = if negative { -1.0 } else { 1.0 };
            found.push(Stated {
                text: chars[start - usize::from(negative)..end + used].iter().collect(),
                value: sign * value * multiplier,
                tolerance: 0.5 * step * multiplier + 1e-9,
            });
        }
        i = end + used;
    }
    found
}

/// Every number `answer` supports: its numeric cells (rates also as percentages, seconds
/// also in minutes, hours and days), each numeric column's total, the row counts, and the
/// digits of its times and texts (not of ids) and of `context` (the query as planned and
/// as run; never the question, so that a question cannot vouch for a number).
fn supported(answer: &Answer, context: &[&str]) -> Vec<f64> {
    let mut values = vec![answer.rows.len() as f64, answer.row_count as f64];
    let mut totals = vec![0.0; answer.columns.len()];
    let mut texts: Vec<String> = context.iter().map(|text| text.to_string()).collect();
    for row in &answer.rows {
        for (i, cell) in row.iter().enumerate() {
            let name = answer.columns.get(i).map_or("", |c| c.name.as_str());
            match cell {
                Value::Number(n) => {
                    let v = n.as_f64().unwrap_or_default();
                    values.push(v);
                    if name.starts_with("rate(") {
                        values.push(v * 100.0);
                    }
                    if name.contains("seconds") {
                        values.extend([v / 60.0, v / 3600.0, v / 86_400.0]);
                    }
                    if let Some(total) = totals.get_mut(i) {
                        *total += v;
                    }
                }
                Value::String(text) if uuid::Uuid::parse_str(text).is_err() => texts.push(text.clone()),
                _ => {}
            }
        }
    }
    texts.extend(answer.columns.iter().map(|c| c.name.clone()));
    values.extend(totals);
    values.extend(texts.iter().flat_map(|text| stated(text)).map(|n| n.value.abs()));
    values
}

/// The first number `sentence` states that `answer` does not support (within the
/// rounding of the digits written); none when every one is.
pub fn unsupported_number(sentence: &str, answer: &Answer, context: &[&str]) -> Option<String> {
    let values = supported(answer, context);
    stated(sentence)
        .into_iter()
        .find_map(|n| (!values.iter().any(|v| (v - n.value).abs() <= n.tolerance)).then_some(n.text))
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A plain sentence from the rows alone, in Chinese or English: the one row's figures, or
/// how many groups there are and which leads on the first measure.
pub fn template_sentence(answer: &Answer, groups: usize, chinese: bool) -> String {
    let Some(first) = answer.rows.first() else {
        return if chinese { "没有符合条件的数据。".into() } else { "No rows match the question.".into() };
    };
    let names: Vec<&str> = answer.columns.iter().map(|c| c.name.as_str()).collect();
    if groups == 0 {
        let figures: Vec<String> =
            names
                .iter()
                .zip(first)
                .map(|(name, value)| {
                    if chinese { format!("{name} 为 {}", shown(value)) } else { format!("{name} is {}", shown(value)) }
                })
                .collect();
        return if chinese {
            format!("{}。", figures.join("，"))
        } else {
            format!("The {}.", figures.join(", the "))
        };
    }
    let measure = groups.min(names.len().saturating_sub(1));
    let leader = answer.rows.iter().filter(|row| row.get(measure).and_then(Value::as_f64).is_some()).max_by(|a, b| {
        let (a, b) = (a[measure].as_f64().unwrap_or_default(), b[measure].as_f64().unwrap_or_default());
        a.total_cmp(&b)
    });
    let by = names[..groups].join(if chinese { "、" } else { " and " });
    let count = answer.rows.len();
    match leader {
        Some(row) => {
            let who = row[..groups].iter().map(shown).collect::<Vec<_>>().join(", ");
            let value = shown(&row[measure]);
            if chinese {
                format!("按 {by} 分为 {count} 组；{} 最高的是 {who}（{value}）。", names[measure])
            } else {
                format!("{count} groups by {by}; the highest {} is {who} ({value}).", names[measure])
            }
        }
        None if chinese => format!("按 {by} 分为 {count} 组。"),
        None => format!("{count} groups by {by}."),
    }
}

/// Whether a question is written in Chinese (any CJK ideograph).
pub fn is_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Query, run::Column};

    fn plan(value: Value) -> Plan {
        serde_json::from_value::<Query>(value).expect("a query").plan().expect("valid")
    }

    fn answer(columns: &[(&str, &'static str)], rows: Value) -> Answer {
        let rows: Vec<Vec<Value>> = serde_json::from_value(rows).expect("rows");
        Answer {
            columns: columns.iter().map(|(name, kind)| Column { name: name.to_string(), kind }).collect(),
            row_count: rows.len(),
            rows,
            truncated: false,
        }
    }

    #[test]
    fn the_chart_follows_the_shape_of_the_query() {
        let kind = |groups: Value, measures: Value| {
            let c = chart(&plan(json!({"dataset": "tickets", "measures": measures, "group_by": groups})));
            (c.kind, c.x, c.series)
        };
        let count = json!([{"fn": "count"}]);
        let two = json!([{"fn": "count"}, {"fn": "avg", "field": "message_count"}]);
        let day = json!({"field": "created_at", "bucket": "day"});
        let channel = json!({"field": "channel"});
        let intent = json!({"field": "intent"});
        assert_eq!(kind(json!([]), count.clone()), (ChartKind::Number, None, None));
        assert_eq!(kind(json!([]), two.clone()).0, ChartKind::Table);
        assert_eq!(kind(json!([day]), count.clone()), (ChartKind::Line, Some("created_at_day".into()), None));
        assert_eq!(kind(json!([channel]), two.clone()).0, ChartKind::Bar);
        assert_eq!(
            kind(json!([channel, day]), count.clone()),
            (ChartKind::Line, Some("created_at_day".into()), Some("channel".into()))
        );
        assert_eq!(
            kind(json!([channel, intent]), count.clone()),
            (ChartKind::StackedBar, Some("channel".into()), Some("intent".into()))
        );
        assert_eq!(kind(json!([channel, intent]), two).0, ChartKind::Table);
    }

    #[test]
    fn a_sentence_may_state_only_numbers_the_rows_support() {
        let rows = answer(
            &[
                ("channel", "text"),
                ("count", "integer"),
                ("avg(first_reply_seconds)", "number"),
                ("rate(sentiment eq negative)", "number"),
                ("avg(sentiment_score)", "number"),
            ],
            json!([["email", 1234, 5400.0, 0.3333, -0.42], ["chat", 34, 90.5, 0.5, 0.1]]),
        );
        let context = ["{\"value\": \"last_7_days\"}", "2026-11-23T00:00:00+08:00"];
        for fine in [
            "Email had 1,234 tickets and chat 34.",
            "E-mail had about 1,200 tickets.",
            "Chat's average first reply took 90.5 seconds; e-mail's 1.5 hours (90 minutes).",
            "A third (33.33%) of e-mail tickets, and 50 % of chat.",
            "In the last 7 days since 2026-11-23: 1268 tickets over 2 channels.",
            "E-mail's mood averaged -0.42, chat's 0.1.",
            "邮件有 1234 张工单，占 33% 。",
            "聊天渠道有３４张工单。",
        ] {
            assert_eq!(unsupported_number(fine, &rows, &context), None, "{fine}");
        }
        for (invented, number) in [
            ("Email had 1,500 tickets.", "1,500"),
            ("Chat answered in 91.2 s.", "91.2"),
            ("聊天渠道有 35 张工单。", "35"),
            ("聊天渠道有３５张工单。", "35"),
            ("Email had 3,400 tickets.", "3,400"),
            ("E-mail's mood averaged 0.42.", "0.42"),
            ("约有 12万 张工单。", "12万"),
            ("About 2.5k tickets came by chat.", "2.5k"),
        ] {
            assert_eq!(unsupported_number(invented, &rows, &context), Some(number.into()), "{invented}");
        }
        // A count is not a rate: 34 tickets do not make 3,400.
        assert_eq!(unsupported_number("3400 chats", &rows, &[]), Some("3400".into()));
        // Ids print digits too; they vouch for none.
        let ids =
            answer(&[("assignee", "text"), ("count", "integer")], json!([["0192f0e4-1234-7000-8000-000000000042", 3]]));
        assert_eq!(unsupported_number("Agent 1234 has 3 tickets.", &ids, &[]), Some("1234".into()));
    }

    #[test]
    fn the_template_names_the_leading_group_in_the_questions_language() {
        let rows = answer(&[("channel", "text"), ("count", "integer")], json!([["chat", 3], ["email", 12]]));
        assert_eq!(template_sentence(&rows, 1, false), "2 groups by channel; the highest count is email (12).");
        assert_eq!(template_sentence(&rows, 1, true), "按 channel 分为 2 组；count 最高的是 email（12）。");
        let one = answer(&[("count", "integer"), ("avg(message_count)", "number")], json!([[7, 2.5]]));
        assert_eq!(template_sentence(&one, 0, false), "The count is 7, the avg(message_count) is 2.5.");
        let none = answer(&[("channel", "text"), ("count", "integer")], json!([]));
        assert_eq!(template_sentence(&none, 1, true), "没有符合条件的数据。");
        assert_eq!(unsupported_number(&template_sentence(&rows, 1, false), &rows, &[]), None);
        assert_eq!(unsupported_number(&template_sentence(&one, 0, true), &one, &[]), None);
    }
}
