//! Service levels: the tenant's business hours (schedules of opening intervals per weekday
//! in a time zone, with holidays), read as the wall clock of that zone shows them.

pub mod analytics;
mod clock;
pub mod hours;
pub mod policies;
pub mod schedules;
pub mod tracking;

pub use hours::{Schedule, Weekly};
