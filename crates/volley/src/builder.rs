//! `ClientBuilder`: every setting of a run, checked once, turned into one
//! HTTP client (one connection pool) and one set of limits and policies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::body::BodyMode;
use crate::client::Client;
use crate::connect::{self, Connector, Proxies};
use crate::intent::IntentHook;
use crate::policy::rate::RatePolicy;
use crate::policy::retry::RetryPolicy;
use crate::policy::status::StatusPolicy;
use crate::resolve::SystemResolver;
use crate::scheduler::hosts::Limits;
use crate::tls;
use crate::transport::Transport;

/// A setting that cannot be used; returned by [`ClientBuilder::build`].
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A numeric or textual setting is out of range or malformed.
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// A CA certificate could not be read.
    #[error("invalid CA certificate: {0}")]
    Certificate(String),
}

/// The settings the engine reads while it runs.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub concurrency: usize,
    pub per_host: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    pub max_redirects: usize,
    /// The headers of [`ClientBuilder::header`], then the `User-Agent` and
    /// `Accept: */*` unless those set them.
    pub default_headers: HeaderMap,
    pub secret_headers: Vec<HeaderName>,
    pub retry: RetryPolicy,
    pub rate: RatePolicy,
    pub status: StatusPolicy,
    pub body_mode: BodyMode,
    pub include_headers: bool,
    /// [`ClientBuilder::save_bodies`].
    pub save_dir: Option<PathBuf>,
    pub read_ahead: usize,
    pub insecure: bool,
    pub intents: Option<Arc<dyn IntentHook>>,
    pub keep_requests: bool,
}

/// Builds a [`Client`]. Every setting has the default of DESIGN.md.
///
/// ```
/// use std::time::Duration;
/// let client = volley::Client::builder()
///     .concurrency(32)
///     .per_host(8)
///     .timeout(Duration::from_secs(10))
///     .retry(volley::RetryPolicy::new().max_retries(5))
///     .build()
///     .expect("valid settings");
/// # drop(client);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    concurrency: usize,
    per_host: Option<usize>,
    connect_timeout: Duration,
    timeout: Duration,
    max_body: u64,
    max_redirects: usize,
    headers: Vec<(String, String)>,
    secret_headers: Vec<String>,
    user_agent: String,
    root_certs: Vec<Vec<u8>>,
    insecure: bool,
    retry: RetryPolicy,
    rate: RatePolicy,
    status: StatusPolicy,
    body_mode: BodyMode,
    include_headers: bool,
    save_dir: Option<PathBuf>,
    read_ahead: Option<usize>,
    resolve: Vec<(String, SocketAddr)>,
    intents: Option<Arc<dyn IntentHook>>,
    proxy: Option<String>,
    keep_requests: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            concurrency: 64,
            per_host: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: 16 * 1024 * 1024,
            max_redirects: 10,
            headers: Vec::new(),
            secret_headers: Vec::new(),
            user_agent: concat!("volley/", env!("CARGO_PKG_VERSION")).to_owned(),
            root_certs: Vec::new(),
            insecure: false,
            retry: RetryPolicy::default(),
            rate: RatePolicy::default(),
            status: StatusPolicy::default(),
            body_mode: BodyMode::Auto,
            include_headers: false,
            save_dir: None,
            read_ahead: None,
            resolve: Vec::new(),
            intents: None,
            proxy: None,
            keep_requests: false,
        }
    }
}

impl ClientBuilder {
    /// At most `n` requests in flight at once, across all hosts (default 64).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// At most `n` requests in flight to one origin (scheme, host, port) at
    /// once (default: the global concurrency).
    pub fn per_host(mut self, n: usize) -> Self {
        self.per_host = Some(n);
        self
    }

    /// How long establishing a connection may take (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The deadline of one whole attempt: connect, redirects, headers and
    /// body (default 30 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The largest body accepted, counted after decompression (default 16 MiB).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// The most redirects followed in one attempt (default 10). With 0, a
    /// redirect response is returned as it is, not followed.
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.max_redirects = n;
        self
    }

    /// A header sent with every request that does not set it itself.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Marks a header as secret: like `Authorization`, it is dropped when a
    /// redirect leaves the origin.
    pub fn secret_header(mut self, name: impl Into<String>) -> Self {
        self.secret_headers.push(name.into());
        self
    }

    /// The `User-Agent` (default `volley/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Trusts the CA certificate(s) in this PEM, besides the built-in roots.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certs.push(pem.into());
        self
    }

    /// Skips TLS certificate verification. Dangerous; say so to the user.
    pub fn insecure(mut self, yes: bool) -> Self {
        self.insecure = yes;
        self
    }

    /// The retry policy (default [`RetryPolicy::new`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Rate limits and adaptive throttling (default: no fixed limits,
    /// adaptive throttling on).
    pub fn rate(mut self, policy: RatePolicy) -> Self {
        self.rate = policy;
        self
    }

    /// Which statuses are failures (default 400–599).
    pub fn status_policy(mut self, policy: StatusPolicy) -> Self {
        self.status = policy;
        self
    }

    /// How bodies are recorded (default [`BodyMode::Auto`]).
    pub fn body(mut self, mode: BodyMode) -> Self {
        self.body_mode = mode;
        self
    }

    /// Records response headers in each outcome.
    pub fn include_headers(mut self, yes: bool) -> Self {
        self.include_headers = yes;
        self
    }

    /// Writes each response body to a file of its own in `dir` (which must
    /// exist) as it arrives, instead of putting it in the outcome: the file
    /// is named after the request's id (made safe for a file name) or its
    /// index, with an extension from the content type, and the outcome's
    /// [`body_path`](crate::Outcome::body_path) says where it is. A body
    /// that is not read to its end (a failed or retried attempt) leaves no
    /// file behind. Bodies are never held whole in memory.
    ///
    /// When a file cannot be written, the outcome says so in
    /// [`save_error`](crate::Outcome::save_error) and has no `body_path`.
    pub fn save_bodies(mut self, dir: impl Into<PathBuf>) -> Self {
        self.save_dir = Some(dir.into());
        self
    }

    /// How many requests [`Client::stream`] holds at once, waiting or in
    /// flight (default: 16 × concurrency, at least 1024). It bounds memory
    /// and lets requests to other hosts pass one that is slow.
    pub fn read_ahead(mut self, n: usize) -> Self {
        self.read_ahead = Some(n);
        self
    }

    /// Calls `hook` before the first attempt of every request that is not
    /// safe to replay (see [`IntentHook`]).
    pub fn intent_hook(mut self, hook: Arc<dyn IntentHook>) -> Self {
        self.intents = Some(hook);
        self
    }

    /// Keeps each request in its outcome ([`Outcome::request`](crate::Outcome::request)),
    /// e.g. to write the failed ones out again.
    pub fn keep_requests(mut self, yes: bool) -> Self {
        self.keep_requests = yes;
        self
    }

    /// Sends every request through the proxy at `url` (`http://` or
    /// `https://`). Without it, `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY`
    /// from the environment are honoured.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Resolves `host` to `addr` instead of asking DNS (like curl's `--resolve`).
    pub fn resolve(mut self, host: impl Into<String>, addr: SocketAddr) -> Self {
        self.resolve.push((host.into(), addr));
        self
    }

    /// Checks the settings and creates the client and its connection pool.
    ///
    /// It also grows the process's descriptor table to fit the client's
    /// concurrency ([`reserve_descriptors`](crate::reserve_descriptors)), so
    /// that the first burst of connections does not stall while the kernel
    /// grows it.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for a zero limit or timeout, a malformed header or
    /// proxy URL, or an unreadable certificate.
    pub fn build(self) -> Result<Client, BuildError> {
        let config = self.config()?;
        // Best effort: without it the table grows as connections open.
        let _ = crate::reserve_descriptors(config.concurrency);
        let proxy = self.proxy.as_deref().map(proxy_url).transpose()?;
        let proxies = Arc::new(Proxies::new(proxy.as_ref()));
        let mut tls_to_proxy = tls::config(&self.root_certs, config.insecure)?;
        let mut tls = tls_to_proxy.clone();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        // A proxy is spoken to in HTTP/1.1, so the hop to one offers no ALPN.
        tls_to_proxy.alpn_protocols.clear();
        let user_agent = HeaderValue::from_str(&self.user_agent).expect("checked by `config`");
        let connector = Connector::new(connect::Settings {
            resolver: SystemResolver::new(&self.resolve),
            tls: Arc::new(tls),
            tls_to_proxy: Arc::new(tls_to_proxy),
            proxies: proxies.clone(),
            user_agent,
            connect_timeout: config.connect_timeout,
        });
        let http = Transport::new(connector, proxies, config.per_host, config.concurrency);
        let limits = Limits::new(config.concurrency, config.per_host, config.rate.clone());
        Ok(Client::new(http, config, limits))
    }

    fn config(&self) -> Result<Config, BuildError> {
        let invalid = |m: &str| Err(BuildError::Invalid(m.to_owned()));
        if self.concurrency == 0 {
            return invalid("concurrency must be at least 1");
        }
        let per_host = self.per_host.unwrap_or(self.concurrency);
        if per_host == 0 {
            return invalid("per-host concurrency must be at least 1");
        }
        if self.connect_timeout.is_zero() || self.timeout.is_zero() {
            return invalid("timeouts must be longer than zero");
        }
        if HeaderValue::from_str(&self.user_agent).is_err() {
            return invalid("the user agent is not a valid header value");
        }
        let mut default_headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| BuildError::Invalid(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value.trim())
                .map_err(|_| BuildError::Invalid(format!("invalid value for header {name}")))?;
            default_headers.append(name, value);
        }
        // The two headers every request has always carried, unless a header
        // above (or the request itself) sets its own.
        if !default_headers.contains_key(USER_AGENT) {
            let ua = HeaderValue::from_str(&self.user_agent).expect("checked above");
            default_headers.insert(USER_AGENT, ua);
        }
        if !default_headers.contains_key(ACCEPT) {
            default_headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        let secret_headers = self
            .secret_headers
            .iter()
            .map(|n| {
                HeaderName::from_bytes(n.trim().as_bytes())
                    .map_err(|_| BuildError::Invalid(format!("invalid secret header name {n:?}")))
            })
            .collect::<Result<_, _>>()?;
        let read_ahead = self
            .read_ahead
            .unwrap_or_else(|| self.concurrency.saturating_mul(16).max(1024))
            .max(self.concurrency);
        Ok(Config {
            concurrency: self.concurrency,
            per_host,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            max_body: self.max_body,
            max_redirects: self.max_redirects,
            default_headers,
            secret_headers,
            retry: self.retry.clone(),
            rate: self.rate.clone(),
            status: self.status.clone(),
            body_mode: self.body_mode,
            include_headers: self.include_headers,
            save_dir: self.save_dir.clone(),
            read_ahead,
            insecure: self.insecure,
            intents: self.intents.clone(),
            keep_requests: self.keep_requests,
        })
    }
}

/// The proxy's URL, as curl reads it too: `host:port` means
/// `http://host:port`, and a SOCKS proxy's port is 1080 by default.
fn proxy_url(raw: &str) -> Result<url::Url, BuildError> {
    let invalid =
        |e: &dyn std::fmt::Display| BuildError::Invalid(format!("invalid proxy {raw:?}: {e}"));
    let mut url = match url::Url::parse(raw) {
        Ok(url) if url.has_host() => url,
        // `host:port` parses as a URL of scheme `host`, without a host.
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {
            match url::Url::parse(&format!("http://{raw}")) {
                Ok(url) if url.has_host() => url,
                _ => return Err(invalid(&"not a URL with a host")),
            }
        }
        Err(e) => return Err(invalid(&e)),
    };
    if url.port().is_none() && matches!(url.scheme(), "socks4" | "socks4a" | "socks5" | "socks5h") {
        // Cannot fail: the URL has a host.
        let _ = url.set_port(Some(1080));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_design() {
        let c = ClientBuilder::default()
            .config()
            .expect("defaults are valid");
        assert_eq!(c.concurrency, 64);
        assert_eq!(c.per_host, 64);
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_body, 16 * 1024 * 1024);
        assert_eq!(c.max_redirects, 10);
        assert_eq!(c.retry.retries(), 3);
        assert_eq!(c.read_ahead, 1024);
        assert!(!c.insecure);
    }

    #[test]
    fn bad_settings_are_refused() {
        let cases = [
            ClientBuilder::default().concurrency(0),
            ClientBuilder::default().per_host(0),
            ClientBuilder::default().timeout(Duration::ZERO),
            ClientBuilder::default().header("bad name", "x"),
            ClientBuilder::default().secret_header("a b"),
            ClientBuilder::default().user_agent("a\nb"),
        ];
        for builder in cases {
            assert!(matches!(builder.config(), Err(BuildError::Invalid(_))));
        }
        let err = ClientBuilder::default()
            .add_root_certificate_pem(b"not a pem".to_vec())
            .build()
            .expect_err("garbage PEM");
        assert!(matches!(err, BuildError::Certificate(_)), "{err}");
        let err = ClientBuilder::default()
            .proxy("http://[::1")
            .build()
            .expect_err("malformed proxy");
        assert!(matches!(err, BuildError::Invalid(_)), "{err}");
    }

    #[test]
    fn proxy_urls_read_like_curl() {
        let url = |raw| proxy_url(raw).map(String::from).expect("valid proxy");
        assert_eq!(url("http://proxy:3128"), "http://proxy:3128/");
        assert_eq!(url("proxy:3128"), "http://proxy:3128/");
        assert_eq!(url("socks5://proxy"), "socks5://proxy:1080");
    }
}
