//! Limits on what one client may take of this process. Failed sign-ins per client
//! address: an address that fails too often across accounts (one password tried against
//! many e-mails) is refused for a while (the per-account throttle is kept in the database,
//! `copilot_tenancy::auth::login`). Open event streams per caller and per tenant. Both are
//! per process: with N API processes a client gets N times the allowance.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Addresses tracked at most; past that, addresses whose window ended are forgotten, and
/// if every one is still in its window, all are (memory stays bounded whatever comes).
const MAX_ADDRESSES: usize = 100_000;

pub struct AddressThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl AddressThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self { max_failures, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` while `address` has used up its failures.
    pub fn check(&self, address: &str) -> Result<(), u64> {
        let Ok(failures) = self.failures.lock() else { return Ok(()) };
        match failures.get(address) {
            Some((since, count)) if *count >= self.max_failures && since.elapsed() < self.window => {
                Err(self.window.saturating_sub(since.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed sign-in from `address`.
    pub fn failed(&self, address: &str) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if failures.len() >= MAX_ADDRESSES {
            let window = self.window;
            failures.retain(|_, (since, _)| since.elapsed() < window);
            if failures.len() >= MAX_ADDRESSES {
                failures.clear();
            }
        }
        let entry = failures.entry(address.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// Open event streams, counted per caller (a user or an API key) and per tenant.
pub struct StreamSlots {
    per_caller: usize,
    per_tenant: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// One open stream; dropping it frees its place.
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    keys: [String; 2],
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut held) = self.slots.held.lock() {
            for key in &self.keys {
                if let Some(count) = held.get_mut(key) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        held.remove(key);
                    }
                }
            }
        }
    }
}

impl StreamSlots {
    pub fn new(per_caller: usize, per_tenant: usize) -> Arc<Self> {
        Arc::new(Self { per_caller, per_tenant, held: Mutex::new(HashMap::new()) })
    }

    /// A place for one more stream of `caller` in `tenant`, or `None` when either has all
    /// its places taken.
    pub fn take(self: &Arc<Self>, tenant: &str, caller: &str) -> Option<StreamSlot> {
        let mut held = self.held.lock().ok()?;
        let keys = [format!("tenant:{tenant}"), format!("caller:{caller}")];
        let tenant_count = held.get(&keys[0]).copied().unwrap_or(0);
        let caller_count = held.get(&keys[1]).copied().unwrap_or(0);
        if tenant_count >= self.per_tenant || caller_count >= self.per_caller {
            return None;
        }
        for key in &keys {
            *held.entry(key.clone()).or_insert(0) += 1;
        }
        Some(StreamSlot { slots: Arc::clone(self), keys })
    }
}

/// The client's address: the connection's peer, or the last address of `header` when the
/// operator names the header its proxy sets (`X-Forwarded-For`, `X-Real-IP`).
pub fn client_address(request: &poem::Request, header: &str) -> String {
    let forwarded = (!header.is_empty())
        .then(|| request.headers().get(header))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    match forwarded {
        Some(ip) => ip.to_string(),
        None => match request.remote_addr().as_socket_addr() {
            Some(socket) => socket.ip().to_string(),
            None => "unknown".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_and_others_are_not() {
        let throttle = AddressThrottle::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(throttle.check("192.0.2.1").is_ok());
            throttle.failed("192.0.2.1");
        }
        assert!(throttle.check("192.0.2.1").is_err());
        assert!(throttle.check("192.0.2.2").is_ok());
    }

    #[test]
    fn the_window_ends() {
        let throttle = AddressThrottle::new(1, Duration::ZERO);
        throttle.failed("192.0.2.1");
        assert!(throttle.check("192.0.2.1").is_ok());
    }

    #[test]
    fn streams_are_counted_per_caller_and_per_tenant_and_freed_when_dropped() {
        let slots = StreamSlots::new(2, 3);
        let first = slots.take("t1", "key-a");
        let second = slots.take("t1", "key-a");
        assert!(first.is_some() && second.is_some());
        assert!(slots.take("t1", "key-a").is_none(), "the caller has two");
        let third = slots.take("t1", "key-b");
        assert!(third.is_some());
        assert!(slots.take("t1", "key-c").is_none(), "the tenant has three");
        assert!(slots.take("t2", "key-d").is_some(), "another tenant is not affected");
        drop(first);
        assert!(slots.take("t1", "key-a").is_some(), "a closed stream frees its place");
    }
}
