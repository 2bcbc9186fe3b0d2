//! The OAuth access token of a `token` connection: fetched once, shared by every call,
//! refreshed before it expires, and forgotten when iSpring refuses it.

use super::*;

impl IspringClient {
    /// The current access token (fetched or refreshed as needed), `None` for a login.
    pub(super) async fn bearer(&self) -> Result<Option<SecretString>, ProviderError> {
        let Auth::Token { cached, .. } = &self.auth else {
            return Ok(None);
        };
        let mut cached = cached.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires_at.saturating_duration_since(Instant::now()) >= TOKEN_REFRESH_MARGIN
        {
            return Ok(Some(t.token.clone()));
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(Some(token))
    }

    /// Drops the cached token if it is still the one that failed (another call may
    /// have refreshed it meanwhile).
    pub(super) async fn forget(&self, failed: &SecretString) {
        if let Auth::Token { cached, .. } = &self.auth {
            let mut cached = cached.lock().await;
            if cached
                .as_ref()
                .is_some_and(|t| t.token.expose_secret() == failed.expose_secret())
            {
                *cached = None;
            }
        }
    }

    pub(super) async fn fetch_token(&self) -> Result<CachedToken, ProviderError> {
        let Auth::Token {
            token_url,
            client_id,
            client_secret,
            ..
        } = &self.auth
        else {
            return Err(ProviderError::new(
                PROVIDER,
                ErrorKind::Config,
                "token",
                "no API key configured",
            ));
        };
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client_id)
            .append_pair("client_secret", client_secret.expose_secret())
            .append_pair("grant_type", "client_credentials")
            .finish();
        let call = Call {
            method: Method::POST,
            path: token_url,
            query: vec![],
            headers: vec![(ACCEPT, HeaderValue::from_static("application/json"))],
            body: Some(Body::Form(form)),
            // Asking for a token twice only yields two tokens.
            idempotent: true,
        };
        // Measured from before the request, so the expiry we keep is never late.
        let asked_at = Instant::now();
        let answer = self.http.send("token", &call, read_token).await?;
        Ok(CachedToken {
            token: answer.access_token,
            expires_at: asked_at
                + Duration::from_secs(answer.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME)),
        })
    }
}
