//! The satisfaction survey page customers open from their link: a small server-rendered
//! form in the survey's language (English or Chinese, switchable), without JavaScript,
//! that shows the current rating and takes a new one while it may change. Opening the
//! page records nothing (mail scanners open links); a rating is a POST, answered with a
//! redirect back to the page (`?saved=1`).

use chrono::{DateTime, Utc};
use copilot_core::{Error, model::CsatScale};
use copilot_satisfaction::{
    Link,
    surveys::{self, Page, Survey},
};
use poem::{
    IntoResponse, Response, Route, handler,
    http::{StatusCode, header},
    web::{Data, Form, Path, Query},
};
use serde::Deserialize;

use crate::AppState;

/// No script, no outside resource, no framing; the form posts to this page only.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> Route {
    Route::new().at("/:token", poem::get(show).post(submit))
}

/// The page's headers: its own policy, never cached (it shows the current rating), not indexed.
pub fn headers() -> poem::middleware::SetHeader {
    poem::middleware::SetHeader::new()
        .overriding(header::CONTENT_SECURITY_POLICY, CSP)
        .overriding(header::CACHE_CONTROL, "no-store")
        .overriding("x-robots-tag", "noindex, nofollow")
}

#[derive(Debug, Default, Deserialize)]
struct Shown {
    /// A rating chosen beforehand (the e-mail's links), not recorded.
    rating: Option<String>,
    lang: Option<String>,
    saved: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Submission {
    rating: Option<String>,
    comment: Option<String>,
    lang: Option<String>,
}

/// What the page is in: English or Chinese.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Zh,
}

impl Lang {
    fn of(asked: Option<&str>, survey: Option<&str>) -> Self {
        match asked.or(survey) {
            Some(lang) if lang.to_ascii_lowercase().starts_with("zh") => Self::Zh,
            _ => Self::En,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh",
        }
    }

    fn other(self) -> (Self, &'static str) {
        match self {
            Self::En => (Self::Zh, "中文"),
            Self::Zh => (Self::En, "English"),
        }
    }

    /// Each text of the page in this language.
    fn text(self, key: Text) -> &'static str {
        use Text::*;
        match (self, key) {
            (Self::En, Title) => "How did we do?",
            (Self::Zh, Title) => "请评价我们的服务",
            (Self::En, Question) => "How would you rate the help you got?",
            (Self::Zh, Question) => "您对这次服务满意吗？",
            (Self::En, Comment) => "Anything you would like to add? (optional)",
            (Self::Zh, Comment) => "还有什么想告诉我们的吗？（选填）",
            (Self::En, Send) => "Send rating",
            (Self::Zh, Send) => "提交评价",
            (Self::En, Saved) => "Thank you! Your rating is saved.",
            (Self::Zh, Saved) => "谢谢！您的评价已保存。",
            (Self::En, Rated) => "Your rating:",
            (Self::Zh, Rated) => "您的评价：",
            (Self::En, ChangeUntil) => "You can change it until",
            (Self::Zh, ChangeUntil) => "可修改至",
            (Self::En, Final) => "Thank you for your rating. It can no longer be changed.",
            (Self::Zh, Final) => "感谢您的评价。评价已无法修改。",
            (Self::En, Expired) => "This survey link has expired.",
            (Self::Zh, Expired) => "此评价链接已过期。",
            (Self::En, Invalid) => "This survey link is not valid. Please use the link from your e-mail as it is.",
            (Self::Zh, Invalid) => "此评价链接无效。请使用邮件中的完整链接。",
            (Self::En, PickOne) => "Please choose a rating.",
            (Self::Zh, PickOne) => "请选择一个评价。",
            (Self::En, TooMany) => "Too many attempts with this link. Please try again later.",
            (Self::Zh, TooMany) => "此链接的提交次数过多，请稍后再试。",
            (Self::En, Unavailable) => "The survey cannot be reached right now. Please try again in a minute.",
            (Self::Zh, Unavailable) => "暂时无法打开评价，请稍后再试。",
            (Self::En, Request) => "Request",
            (Self::Zh, Request) => "请求",
        }
    }

    /// The labels of a scale's ratings, highest first.
    fn choices(self, scale: CsatScale) -> &'static [(i16, &'static str)] {
        match (self, scale) {
            (Self::En, CsatScale::Five) => &[(5, "Excellent"), (4, "Good"), (3, "Okay"), (2, "Poor"), (1, "Very poor")],
            (Self::Zh, CsatScale::Five) => {
                &[(5, "非常满意"), (4, "满意"), (3, "一般"), (2, "不满意"), (1, "非常不满意")]
            }
            (Self::En, CsatScale::Two) => &[(2, "Good"), (1, "Bad")],
            (Self::Zh, CsatScale::Two) => &[(2, "满意"), (1, "不满意")],
        }
    }
}

#[derive(Clone, Copy)]
enum Text {
    Title,
    Question,
    Comment,
    Send,
    Saved,
    Rated,
    ChangeUntil,
    Final,
    Expired,
    Invalid,
    PickOne,
    TooMany,
    Unavailable,
    Request,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the page shows besides its state.
struct Context {
    desk: String,
    ticket: Option<(i64, String)>,
}

/// A whole page: the desk's name, a heading, the body, and the other language's link.
fn document(lang: Lang, context: &Context, token: &str, body: &str) -> String {
    let (other, other_name) = lang.other();
    let ticket = context
        .ticket
        .as_ref()
        .map(|(number, subject)| {
            format!("<p class=\"ticket\">{} #{number}: {}</p>", lang.text(Text::Request), escape(subject))
        })
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · {desk}</title><style>{STYLE}</style></head>\
         <body><main><p class=\"desk\" translate=\"no\">{desk}</p><h1>{title}</h1>{ticket}{body}\
         <p class=\"lang\"><a href=\"{href}\" lang=\"{other_code}\" hreflang=\"{other_code}\">{other_name}</a></p>\
         </main></body></html>\n",
        code = lang.code(),
        title = lang.text(Text::Title),
        desk = escape(&context.desk),
        href = escape(&format!("{}?lang={}", token, other.code())),
        other_code = other.code(),
    )
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1c1e21}\
main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}\
h1{font-size:1.5rem;margin:.25rem 0 1rem}.desk,.ticket{color:#4a4f57;margin:0}\
fieldset{border:0;padding:0;margin:1rem 0}legend{font-weight:600;margin-bottom:.5rem}\
.choice{display:block;padding:.5rem .75rem;margin:.25rem 0;border:1px solid #c4c8cf;border-radius:6px}\
.choice input{margin-right:.5rem}label.comment{display:block;font-weight:600;margin-top:1rem}\
textarea{width:100%;box-sizing:border-box;min-height:6rem;font:inherit;margin-top:.25rem}\
button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#1f5fbf;border:0;border-radius:6px}\
button:focus,input:focus,textarea:focus,a:focus{outline:3px solid #f0b400;outline-offset:2px}\
.status{background:#e7f5ea;border-left:4px solid #2e7d32;padding:.5rem .75rem}\
.error{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem .75rem}.lang{margin-top:1.5rem}";

/// The form with `chosen` checked and `comment` filled.
fn form(lang: Lang, survey: &Survey, chosen: Option<i16>, comment: Option<&str>) -> String {
    let mut choices = String::new();
    for (rating, label) in lang.choices(survey.scale) {
        let checked = if chosen == Some(*rating) { " checked" } else { "" };
        choices.push_str(&format!(
            "<label class=\"choice\" for=\"rating-{rating}\"><input type=\"radio\" id=\"rating-{rating}\" name=\"rating\" value=\"{rating}\" required{checked}>{label}</label>"
        ));
    }
    format!(
        "<form method=\"post\"><input type=\"hidden\" name=\"lang\" value=\"{code}\">\
         <fieldset><legend>{question}</legend>{choices}</fieldset>\
         <label class=\"comment\" for=\"comment\">{comment_label}</label>\
         <textarea id=\"comment\" name=\"comment\" maxlength=\"{max}\">{comment}</textarea>\
         <button type=\"submit\">{send}</button></form>",
        code = lang.code(),
        question = lang.text(Text::Question),
        comment_label = lang.text(Text::Comment),
        max = surveys::MAX_COMMENT,
        comment = escape(comment.unwrap_or_default()),
        send = lang.text(Text::Send),
    )
}

fn label(lang: Lang, scale: CsatScale, rating: i16) -> &'static str {
    lang.choices(scale).iter().find(|(value, _)| *value == rating).map_or("", |(_, label)| label)
}

fn date(lang: Lang, at: DateTime<Utc>) -> String {
    match lang {
        Lang::En => at.format("%B %-d, %Y %H:%M UTC").to_string(),
        Lang::Zh => at.format("%Y年%-m月%-d日 %H:%M（UTC）").to_string(),
    }
}

/// The body of a survey's page: a message (`role` status or alert) above the form, or the
/// final answer.
fn survey_body(lang: Lang, page: &Page, chosen: Option<i16>, message: Option<(&str, &str)>) -> String {
    let message = message
        .map(|(class, text)| {
            let role = if class == "error" { "alert" } else { "status" };
            format!("<p class=\"{class}\" role=\"{role}\">{text}</p>")
        })
        .unwrap_or_default();
    // Chinese sets no space after its full-width colon and ends sentences with 。.
    let (space, stop) = match lang {
        Lang::En => (" ", "."),
        Lang::Zh => ("", "。"),
    };
    let rated = lang.text(Text::Rated);
    match page {
        Page::Expired(_) => format!("<p class=\"error\" role=\"alert\">{}</p>", lang.text(Text::Expired)),
        Page::Closed(survey) => format!(
            "{message}<p>{rated}{space}<strong>{}</strong></p><p>{}</p>",
            label(lang, survey.scale, survey.rating.unwrap_or_default()),
            lang.text(Text::Final)
        ),
        Page::Open(survey) => {
            let current = match (survey.rating, survey.changeable_until) {
                (Some(rating), Some(until)) => format!(
                    "<p>{rated}{space}<strong>{}</strong>{stop}{space}{} {}{stop}</p>",
                    label(lang, survey.scale, rating),
                    lang.text(Text::ChangeUntil),
                    date(lang, until)
                ),
                _ => String::new(),
            };
            format!("{message}{current}{}", form(lang, survey, chosen.or(survey.rating), survey.comment.as_deref()))
        }
    }
}

fn html(status: StatusCode, page: String) -> Response {
    page.into_response().with_content_type("text/html; charset=utf-8").with_status(status).into_response()
}

/// The tenant's name and the ticket, for the page's heading (blank if they cannot be read).
async fn context(tx: &copilot_store::TenantTx, survey: &Survey) -> Context {
    let desk = copilot_tenancy::tenants::get(tx).await.map(|tenant| tenant.name).unwrap_or_default();
    let ticket =
        copilot_conversations::get(tx, survey.ticket_id).await.ok().map(|ticket| (ticket.number, ticket.subject));
    Context { desk, ticket }
}

fn survey_of(page: &Page) -> &Survey {
    match page {
        Page::Open(survey) | Page::Closed(survey) | Page::Expired(survey) => survey,
    }
}

fn page_status(page: &Page) -> StatusCode {
    match page {
        Page::Expired(_) => StatusCode::GONE,
        Page::Open(_) | Page::Closed(_) => StatusCode::OK,
    }
}

/// The page of a link that names no survey, or of a failure before one was read.
fn plain(lang: Lang, token: &str, status: StatusCode, text: Text) -> Response {
    let context = Context { desk: String::new(), ticket: None };
    let body = format!("<p class=\"error\" role=\"alert\">{}</p>", lang.text(text));
    html(status, document(lang, &context, token, &body))
}

/// The page of a failure: not found, unavailable, or anything else.
fn failure(lang: Lang, token: &str, error: &Error) -> Response {
    match error {
        Error::NotFound(_) => plain(lang, token, StatusCode::NOT_FOUND, Text::Invalid),
        Error::Unavailable { retry_after_seconds, .. } => {
            let mut response = plain(lang, token, StatusCode::SERVICE_UNAVAILABLE, Text::Unavailable);
            if let Ok(value) = retry_after_seconds.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        error => {
            tracing::error!(%error, "the survey page failed");
            plain(lang, token, StatusCode::INTERNAL_SERVER_ERROR, Text::Unavailable)
        }
    }
}

fn rating_of(raw: Option<&str>) -> Option<i16> {
    raw.and_then(|raw| raw.trim().parse().ok())
}

#[handler]
async fn show(Path(token): Path<String>, query: Option<Query<Shown>>, Data(state): Data<&AppState>) -> Response {
    let shown = query.map(|q| q.0).unwrap_or_default();
    let asked = shown.lang.as_deref();
    let Some(link) = Link::read(&state.pipeline.sealer, &token) else {
        return plain(Lang::of(asked, None), &token, StatusCode::NOT_FOUND, Text::Invalid);
    };
    let opened = async {
        let tx = state.pipeline.db.tenant(link.tenant).await?;
        let page = surveys::open(&tx, &link).await?;
        let context = context(&tx, survey_of(&page)).await;
        Ok::<_, Error>((page, context))
    };
    match opened.await {
        Err(error) => failure(Lang::of(asked, None), &token, &error),
        Ok((page, context)) => {
            let lang = Lang::of(asked, Some(&survey_of(&page).language));
            let saved = shown.saved.is_some() && survey_of(&page).rating.is_some();
            let message = saved.then_some(("status", lang.text(Text::Saved)));
            let body = survey_body(lang, &page, rating_of(shown.rating.as_deref()), message);
            html(page_status(&page), document(lang, &context, &token, &body))
        }
    }
}

#[handler]
async fn submit(Path(token): Path<String>, form: Option<Form<Submission>>, Data(state): Data<&AppState>) -> Response {
    let submission = form.map(|f| f.0).unwrap_or_default();
    let asked = submission.lang.as_deref();
    let Some(link) = Link::read(&state.pipeline.sealer, &token) else {
        return plain(Lang::of(asked, None), &token, StatusCode::NOT_FOUND, Text::Invalid);
    };
    let chosen = rating_of(submission.rating.as_deref());
    let rated = async {
        let tx = state.pipeline.db.tenant(link.tenant).await?;
        let outcome = match chosen {
            Some(rating) => surveys::rate(&tx, &link, rating, submission.comment.as_deref()).await,
            None => Err(Error::validation("invalid_rating", "no rating chosen")),
        };
        match outcome {
            Ok(page) => {
                let context = context(&tx, survey_of(&page)).await;
                tx.commit().await?;
                Ok(Ok((page, context)))
            }
            // Nothing changed: the page again, with why.
            Err(error @ (Error::Validation { .. } | Error::RateLimited { .. })) => {
                let page = surveys::open(&tx, &link).await?;
                let context = context(&tx, survey_of(&page)).await;
                Ok(Err((error, page, context)))
            }
            Err(error) => Err(error),
        }
    };
    match rated.await {
        Err(error) => failure(Lang::of(asked, None), &token, &error),
        Ok(Ok((page @ Page::Open(_), _))) => {
            let lang = Lang::of(asked, Some(&survey_of(&page).language));
            let location = format!("{}?saved=1&lang={}", token, lang.code());
            Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, location).finish()
        }
        Ok(Ok((page, context))) => {
            let lang = Lang::of(asked, Some(&survey_of(&page).language));
            let body = survey_body(lang, &page, None, None);
            html(page_status(&page), document(lang, &context, &token, &body))
        }
        Ok(Err((error, page, context))) => {
            let lang = Lang::of(asked, Some(&survey_of(&page).language));
            let (status, text, retry) = match error {
                Error::RateLimited { retry_after_seconds } => {
                    (StatusCode::TOO_MANY_REQUESTS, Text::TooMany, Some(retry_after_seconds))
                }
                _ => (StatusCode::UNPROCESSABLE_ENTITY, Text::PickOne, None),
            };
            let body = survey_body(lang, &page, chosen, Some(("error", lang.text(text))));
            let mut response = html(status, document(lang, &context, &token, &body));
            if let Some(value) = retry.and_then(|seconds| seconds.to_string().parse().ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_customers_is_escaped() {
        assert_eq!(escape("<b>\"Tom & 'Jerry'\"</b>"), "&lt;b&gt;&quot;Tom &amp; &#39;Jerry&#39;&quot;&lt;/b&gt;");
    }

    #[test]
    fn the_page_speaks_the_asked_language_else_the_surveys() {
        assert!(Lang::of(Some("zh"), Some("en")) == Lang::Zh);
        assert!(Lang::of(None, Some("zh")) == Lang::Zh);
        assert!(Lang::of(Some("fr"), Some("zh")) == Lang::En);
        assert!(Lang::of(None, None) == Lang::En);
    }
}
