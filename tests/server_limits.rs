//! Slow and abusive clients: half-sent requests are dropped after the header timeout while `/healthz`
//! keeps answering, and silent connections are dropped after the idle timeout.

mod common;

use common::{Backend, TestApp};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until EOF (or an error, which a reset is); returns how long it took.
async fn time_to_eof(stream: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the stalled connection was still open after {limit:?}"),
        }
    }
}

async fn half_sent_requests_are_dropped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.server.header_timeout_secs = 1;
        c.server.idle_timeout_secs = 30;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for _ in 0..250 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: warroom\r\nX-Half: ")
            .await
            .unwrap();
        stalled.push(s);
    }
    let start = Instant::now();
    let resp = tokio::time::timeout(
        Duration::from_secs(2),
        app.client.get(app.url("/healthz")).send(),
    )
    .await
    .expect("/healthz answers while 250 clients stall")
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(start.elapsed() < Duration::from_secs(2));
    let took = time_to_eof(&mut stalled[0], Duration::from_secs(5)).await;
    assert!(took <= Duration::from_secs(3), "dropped after {took:?}");
    for s in stalled.iter_mut().skip(1) {
        time_to_eof(s, Duration::from_secs(5)).await;
    }
}
both_backends!(half_sent_requests, half_sent_requests_are_dropped);

async fn silent_connections_are_dropped(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.server.header_timeout_secs = 30;
        c.server.idle_timeout_secs = 1;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let took = time_to_eof(&mut s, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(900),
        "dropped too early: {took:?}"
    );
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}
both_backends!(silent_connections, silent_connections_are_dropped);
