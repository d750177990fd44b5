//! Caps on live streams: at most `server.max_streams` open at once, and `server.max_streams_per_client`
//! from one client address; a permit is held for as long as its stream is open.

use super::error::ApiError;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The open streams, shared by every request of one server.
#[derive(Clone)]
pub struct StreamLimits {
    open: Arc<Mutex<Open>>,
    max_total: usize,
    max_per_client: usize,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// One open stream; dropping it (the client went away) frees its place.
pub struct StreamPermit {
    open: Arc<Mutex<Open>>,
    client: IpAddr,
}

impl StreamLimits {
    /// Limits of `max_total` streams in all and `max_per_client` per client address.
    pub fn new(max_total: usize, max_per_client: usize) -> StreamLimits {
        StreamLimits {
            open: Arc::default(),
            max_total,
            max_per_client,
        }
    }

    /// A place for one more stream from `client`: 429 when that client has its share, 503 when the
    /// server has no room left.
    pub fn acquire(&self, client: IpAddr) -> Result<StreamPermit, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.by_client.get(&client).copied().unwrap_or(0);
        if mine >= self.max_per_client {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "this client already has {mine} live streams open (server.max_streams_per_client)"
                ),
            ));
        }
        if open.total >= self.max_total {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                "the server has no room for another live stream (server.max_streams); retry later",
            ));
        }
        open.total += 1;
        *open.by_client.entry(client).or_insert(0) += 1;
        Ok(StreamPermit {
            open: self.open.clone(),
            client,
        })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_counted_and_given_back() {
        let limits = StreamLimits::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = limits.acquire(a).unwrap();
        let _p2 = limits.acquire(a).unwrap();
        assert_eq!(
            limits.acquire(a).err().unwrap().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        let _p3 = limits.acquire(b).unwrap();
        assert_eq!(
            limits.acquire(b).err().unwrap().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        drop(p1);
        assert!(limits.acquire(a).is_ok());
    }
}
