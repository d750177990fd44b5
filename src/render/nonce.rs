//! The Content-Security-Policy nonce of the page being rendered (`{{ csp_nonce() }}` in templates).

tokio::task_local! {
    /// The nonce of the current request, set by the HTTP layer around each handler.
    pub static CSP_NONCE: String;
}

/// The current request's nonce, or an empty string outside a request (the CSP then refuses the inline
/// element, which is the safe way to fail).
pub fn current() -> String {
    CSP_NONCE.try_with(|n| n.clone()).unwrap_or_default()
}
