//! The OpenID Connect client (authorization code + PKCE + nonce) over any issuer, with the
//! `openidconnect` crate. The discovery document and key set come from a [`Discovery`] cache; an ID
//! token signed with a key the cached set lacks fetches the keys again, so rotated keys are picked up.

use super::discovery::Discovery;
use crate::config::OidcConfig;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use openidconnect::{ClaimsVerificationError, SignatureVerificationError};
use std::time::Duration;

/// Why an OpenID Connect step failed (the texts carry no secrets).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// `auth.oidc` lacks the issuer or client id, or `server.public_url` is missing.
    #[error("{0}")]
    NotConfigured(String),
    /// Discovery, the token call or the ID-token checks failed.
    #[error("{0}")]
    Issuer(String),
}

/// Where to send the browser, and what must be remembered until it comes back.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The issuer's authorization URL.
    pub url: String,
    /// The `state` parameter.
    pub state: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
}

/// Who the issuer says signed in (from a verified ID token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The `sub` claim.
    pub subject: String,
    /// The `email` claim, only when `email_verified` is true.
    pub verified_email: Option<String>,
    /// `name`, else `preferred_username`.
    pub name: Option<String>,
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The redirect URI registered with the issuer: `server.public_url` + `/signin/oidc/callback`.
pub fn redirect_uri(public_url: Option<&str>) -> Result<String, OidcError> {
    let base = public_url.ok_or_else(|| {
        OidcError::NotConfigured(
            "server.public_url must be set for OpenID Connect sign-in (the redirect URI is \
             server.public_url + /signin/oidc/callback)"
                .into(),
        )
    })?;
    Ok(format!(
        "{}/signin/oidc/callback",
        base.trim_end_matches('/')
    ))
}

fn http_client() -> Result<openidconnect::reqwest::Client, OidcError> {
    openidconnect::reqwest::Client::builder()
        // Following redirects would let the issuer's answers point warroom at other hosts.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| OidcError::Issuer(format!("cannot build the HTTP client: {e}")))
}

fn issuer(config: &OidcConfig) -> Result<(IssuerUrl, &str), OidcError> {
    let (Some(issuer), Some(client_id)) = (config.issuer.as_deref(), config.client_id.as_deref())
    else {
        return Err(OidcError::NotConfigured(
            "auth.oidc.issuer and auth.oidc.client_id must both be set".into(),
        ));
    };
    let issuer = IssuerUrl::new(issuer.to_string())
        .map_err(|e| OidcError::NotConfigured(format!("auth.oidc.issuer: {e}")))?;
    Ok((issuer, client_id))
}

fn build_client(
    config: &OidcConfig,
    client_id: &str,
    redirect: &str,
    metadata: CoreProviderMetadata,
) -> Result<Client, OidcError> {
    let redirect = RedirectUrl::new(redirect.to_string())
        .map_err(|e| OidcError::NotConfigured(format!("server.public_url: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_string()),
        config.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect))
}

/// The issuer's authorization URL (scopes `openid email profile`, S256 PKCE), from its cached metadata.
pub async fn authorize(
    config: &OidcConfig,
    redirect: &str,
    discovery: &Discovery,
) -> Result<Authorization, OidcError> {
    let http = http_client()?;
    let (issuer, client_id) = issuer(config)?;
    let metadata = discovery.metadata(&issuer, &http).await?;
    let client = build_client(config, client_id, redirect, metadata)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// Exchanges the code (with the PKCE verifier) and verifies the ID token: signature, issuer,
/// audience, expiry and nonce. A token signed with a key the cached set lacks fetches the keys again.
pub async fn exchange(
    config: &OidcConfig,
    redirect: &str,
    code: &str,
    pkce_verifier: &str,
    nonce: &str,
    discovery: &Discovery,
) -> Result<Identity, OidcError> {
    let http = http_client()?;
    let (issuer, client_id) = issuer(config)?;
    let metadata = discovery.metadata(&issuer, &http).await?;
    let client = build_client(config, client_id, redirect, metadata)?;
    let token: CoreTokenResponse = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| OidcError::Issuer(format!("the issuer has no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
        .request_async(&http)
        .await
        .map_err(|e| OidcError::Issuer(format!("the token request failed: {e}")))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| OidcError::Issuer("the issuer returned no ID token".into()))?;
    let nonce = Nonce::new(nonce.to_string());
    let refused =
        |e: ClaimsVerificationError| OidcError::Issuer(format!("the ID token was refused: {e}"));
    let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
        Ok(claims) => claims.clone(),
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            let Some(metadata) = discovery.refresh_keys(&issuer, &http).await? else {
                return Err(refused(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )));
            };
            let client = build_client(config, client_id, redirect, metadata)?;
            id_token
                .claims(&client.id_token_verifier(), &nonce)
                .map_err(refused)?
                .clone()
        }
        Err(e) => return Err(refused(e)),
    };
    let verified_email = claims
        .email()
        .filter(|_| claims.email_verified() == Some(true))
        .map(|e| e.as_str().to_string());
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .or_else(|| claims.preferred_username().map(|u| u.as_str().to_string()));
    Ok(Identity {
        subject: claims.subject().as_str().to_string(),
        verified_email,
        name,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_redirect_uri_follows_the_public_url() {
        assert_eq!(
            super::redirect_uri(Some("https://warroom.example.com/")).unwrap(),
            "https://warroom.example.com/signin/oidc/callback"
        );
        assert!(super::redirect_uri(None).is_err());
    }
}
