//! Customer satisfaction: whether and how a tenant asks (`settings`), each solved ticket's
//! survey (`surveys`: sent after a delay, by e-mail through its own outbox or as a
//! `csat.requested` event; one rating per ticket, changeable for 7 days; a flood limit per
//! link), the signed links customers open without signing in (`links`), and the ratings'
//! figures (`analytics`: by period, agent, intent, channel, and AI-drafted or typed replies).

pub mod analytics;
pub mod links;
pub mod settings;
pub mod surveys;

pub use links::Link;
pub use settings::CsatSettings;
pub use surveys::Survey;
