//! The id of the HTTP request being served (`X-Request-Id`), for the work it queues: a job
//! row keeps it, and the worker that runs the job logs under it.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the request `id`.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request being served, when there is one.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_holds_inside_its_scope_only() {
        assert_eq!(current(), None);
        assert_eq!(scope("req-1".into(), async { current() }).await.as_deref(), Some("req-1"));
        assert_eq!(current(), None);
    }
}
