//! `Client`: one connection pool, one set of limits and policies, and the
//! three ways in — [`Client::fetch`], [`Client::gather`], [`Client::stream`].
//!
//! Every request, whichever way it came in, goes through [`Client::fetch`]:
//! validate, then attempts under the shared limits until the retry policy
//! says the result is final, then one [`Outcome`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::body;
use crate::builder::{ClientBuilder, Config};
use crate::classify::fmt_duration;
use crate::executor::{self, Attempt, Received};
use crate::intent::needs_intent;
use crate::outcome::{ErrorInfo, ErrorKind, Outcome};
use crate::policy::adaptive::Signal;
use crate::policy::retry::{Failure, Verdict};
use crate::scheduler::{
    self,
    hosts::{host_key, Limits},
};
use crate::spec::{Prepared, RequestSpec};

/// A request checked and ready to send: see [`Client::plan`].
#[derive(Debug)]
pub(crate) struct Plan {
    pub prepared: Prepared,
    /// The key of the request's host in the per-host limits.
    pub host: Arc<str>,
}
use crate::stats::{Counter, Stats};
use crate::transport::Transport;

/// A shared HTTP engine. Cheap to clone: clones share the pool, the limits
/// and the policies, so limits hold across every request made through any
/// clone.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: Transport,
    config: Config,
    limits: Arc<Limits>,
}

impl Client {
    /// A builder with the defaults of DESIGN.md.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn new(http: Transport, config: Config, limits: Limits) -> Self {
        Client {
            inner: Arc::new(Inner {
                http,
                config,
                limits: Arc::new(limits),
            }),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Makes one request, with retries, under the client's limits.
    ///
    /// Never fails and never panics on bad input: an unusable spec, a
    /// transport failure or a failing status is an [`Outcome`] whose
    /// `error` says what happened.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let client = volley::Client::builder().build().expect("default settings");
    /// let outcome = client.fetch(volley::RequestSpec::get("https://api.example.com/users/1")).await;
    /// match outcome.error {
    ///     None => println!("{} bytes", outcome.bytes),
    ///     Some(e) => eprintln!("{}: {}", e.kind, e.message),
    /// }
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the request (and any connection it was
    /// using) and releases its slots.
    pub async fn fetch(&self, spec: RequestSpec) -> Outcome {
        let plan = self.plan(&spec);
        let outcome = self.fetch_planned(&spec, plan, None, None).await;
        let outcome = outcome.unwrap_or_else(|| {
            Outcome::invalid(&spec, "not sent: the intent hook could not record it")
        });
        self.attach(outcome, spec)
    }

    /// Checks `spec` and works out everything sending it needs: the parsed
    /// request with the client's default headers, and its host's key. The
    /// error is the reason for an `invalid_request` record.
    pub(crate) fn plan(&self, spec: &RequestSpec) -> Result<Plan, String> {
        let prepared = self.with_defaults(spec.prepare()?);
        let host = host_key(&prepared.url);
        Ok(Plan { prepared, host })
    }

    /// Gives `outcome` its request when the client keeps requests.
    pub(crate) fn attach(&self, mut outcome: Outcome, spec: RequestSpec) -> Outcome {
        if self.inner.config.keep_requests {
            outcome.request = Some(Box::new(spec));
        }
        outcome
    }

    /// Makes the request `spec`, planned as `plan` (see [`Client::plan`]),
    /// with retries, under the client's limits. Gives up, with no outcome,
    /// when `stop` is cancelled before the request's first attempt has
    /// begun, or when the intent hook refuses it. Once begun, the request
    /// runs to its outcome, retries included.
    ///
    /// `backoff`, if given, hears `true` when the request starts to wait
    /// before a retry and `false` when the wait is over, so the scheduler
    /// can let another request use the time.
    ///
    /// The outcome's `request` is left for the caller ([`Client::attach`]),
    /// which owns the spec.
    pub(crate) async fn fetch_planned(
        &self,
        spec: &RequestSpec,
        plan: Result<Plan, String>,
        stop: Option<&CancellationToken>,
        backoff: Option<&(dyn Fn(bool) + Sync)>,
    ) -> Option<Outcome> {
        let Plan { prepared, host } = match plan {
            Ok(plan) => plan,
            Err(message) => {
                self.inner.limits.counters.bump(Counter::Requests);
                return Some(Outcome::invalid(spec, message));
            }
        };
        let config = &self.inner.config;
        let limits = &self.inner.limits;
        let lease = limits.lease(host);
        let idempotency_key = prepared.idempotency_key;
        let mut started = None;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (result, slots, sent) = {
                // Host slot, host readiness, then a global slot and the
                // global rate (see scheduler::hosts). They are held until
                // the result has been judged (below), then released before
                // any backoff sleep.
                let slots = async {
                    let host_slot = lease.acquire().await;
                    (host_slot, lease.admit().await)
                };
                let slots = match stop {
                    // Until the first attempt begins, a stop wins the race.
                    Some(stop) if attempts == 1 => tokio::select! {
                        biased;
                        () = stop.cancelled() => return None,
                        slots = slots => slots,
                    },
                    _ => slots.await,
                };
                if started.is_none() {
                    // About to send for the first time: a request that is not
                    // safe to replay gets its intent recorded first.
                    if let Some(hook) = config.intents.as_ref().filter(|_| needs_intent(spec)) {
                        if !hook.record(spec).await {
                            return None;
                        }
                    }
                    started = Some(Instant::now());
                    // Deposited when the request is really sent, not when it
                    // is queued: a full read-ahead window would otherwise
                    // fill the budget to its cap before anything was sent.
                    lease.first_attempt();
                }
                limits.counters.bump(Counter::Attempts);
                let _in_flight = limits.counters.in_flight();
                let naming = (spec.id.as_deref(), spec.index);
                let sent = Instant::now();
                let result = executor::attempt(&self.inner.http, config, &prepared, naming).await;
                (result, slots, sent)
            };
            if let Some(signal) = signal(&result) {
                lease.observe(signal, sent);
            }
            let failure = match &result {
                Attempt::Received(r) if config.retry.is_retried_status(r.status.as_u16()) => {
                    Some(Failure::Status {
                        status: r.status.as_u16(),
                        retry_after: r.retry_after.as_ref(),
                    })
                }
                Attempt::Received(_) => None,
                Attempt::Failed(c) => Some(Failure::Transport {
                    kind: c.kind,
                    never_sent: c.never_sent,
                }),
            };
            let verdict = failure.map_or(Verdict::Final, |failure| {
                config
                    .retry
                    .decide(&prepared.method, idempotency_key, attempts, failure)
            });
            let (delay, note) = match verdict {
                Verdict::Final => (None, None),
                Verdict::WaitTooLong(wait) => (
                    None,
                    Some(format!(
                        "not retried: Retry-After {} is over the {} cap",
                        fmt_duration(wait),
                        fmt_duration(config.retry.retry_after_cap())
                    )),
                ),
                Verdict::Wait(wait) => {
                    // The server asked for quiet: the whole host waits, not
                    // only this request.
                    lease.pause_for(wait);
                    (Some(wait), None)
                }
                Verdict::Retry(backoff) => (Some(backoff), None),
            };
            // Only now, with any pause in place, may another request to this
            // host have the slots: released any earlier, one waiting for them
            // could go out before the pause began (FAULTS row 7).
            drop(slots);
            let (delay, note) = match delay {
                Some(_) if !lease.allow_retry() => (
                    None,
                    Some("not retried: the host's retry budget is spent".to_owned()),
                ),
                other => (other, note),
            };
            match delay {
                Some(delay) => {
                    limits.counters.bump(Counter::Retries);
                    if let Attempt::Received(Received {
                        saved: Some(Ok(path)),
                        ..
                    }) = &result
                    {
                        // Its body is not the one the outcome will have.
                        let _ = tokio::fs::remove_file(path).await;
                    }
                    backoff.inspect(|tell| tell(true));
                    tokio::time::sleep(delay).await;
                    backoff.inspect(|tell| tell(false));
                }
                None => {
                    limits.counters.bump(Counter::Requests);
                    let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed());
                    let mut outcome = self.record(spec, &prepared, attempts, elapsed, result);
                    if let (Some(error), Some(note)) = (outcome.error.as_mut(), note) {
                        error.message = format!("{} ({note})", error.message);
                    }
                    return Some(outcome);
                }
            }
        }
    }

    /// The client's counters so far: requests, retries, host pauses,
    /// throttle decreases, retry-budget exhaustions.
    pub fn stats(&self) -> Stats {
        self.inner.limits.counters.snapshot()
    }

    /// Makes every request and returns their outcomes in input order, like
    /// Python's `asyncio.gather` with `return_exceptions=True`: one failure
    /// never hides another request's result.
    ///
    /// Requests run concurrently under the client's limits. The outcomes are
    /// collected in memory; for inputs of any size use [`Client::stream`].
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use volley::{Client, RequestSpec};
    /// let client = Client::builder().concurrency(16).build().expect("valid settings");
    /// let specs = ["https://api.example.com/a", "https://api.example.com/b"]
    ///     .into_iter()
    ///     .enumerate()
    ///     .map(|(i, url)| RequestSpec::get(url).with_index(i as u64));
    /// for outcome in client.gather(specs).await {
    ///     println!("{} {:?} {:?}", outcome.url, outcome.status, outcome.error_kind());
    /// }
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn gather<I>(&self, specs: I) -> Vec<Outcome>
    where
        I: IntoIterator<Item = RequestSpec>,
        I::IntoIter: Send + 'static,
    {
        use futures_util::StreamExt as _;
        let mut slots: Vec<Option<Outcome>> = Vec::new();
        let mut results = std::pin::pin!(scheduler::run(
            self.clone(),
            futures_util::stream::iter(specs),
            None
        ));
        while let Some((position, outcome)) = results.next().await {
            if slots.len() <= position {
                slots.resize_with(position + 1, || None);
            }
            slots[position] = Some(outcome);
        }
        slots
            .into_iter()
            .map(|slot| slot.expect("the scheduler yields exactly one outcome per input"))
            .collect()
    }

    /// Makes every request and yields outcomes as they complete.
    ///
    /// Takes any iterator, however long: at most `read_ahead` requests are
    /// held at once (waiting, in flight or retrying), so ten million inputs
    /// run in the memory of ten thousand. Each outcome carries the `index`
    /// of its spec. For an async source of specs, use [`Client::stream_from`].
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use futures_util::StreamExt;
    /// let client = volley::Client::builder().build().expect("valid settings");
    /// let specs = (0..1_000_000u64)
    ///     .map(|i| volley::RequestSpec::get(format!("https://api.example.com/items/{i}")).with_index(i));
    /// let mut outcomes = std::pin::pin!(client.stream(specs));
    /// while let Some(outcome) = outcomes.next().await {
    ///     println!("{} {:?}", outcome.index, outcome.status);
    /// }
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping the stream stops reading input and aborts requests in flight.
    pub fn stream<I>(&self, specs: I) -> impl Stream<Item = Outcome> + Send + 'static
    where
        I: IntoIterator<Item = RequestSpec>,
        I::IntoIter: Send + 'static,
    {
        self.stream_from(futures_util::stream::iter(specs))
    }

    /// [`Client::stream`] for an asynchronous source of specs.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub fn stream_from<S>(&self, specs: S) -> impl Stream<Item = Outcome> + Send + 'static
    where
        S: Stream<Item = RequestSpec> + Send + 'static,
    {
        use futures_util::StreamExt as _;
        scheduler::run(self.clone(), specs, None).map(|(_, outcome)| outcome)
    }

    /// [`Client::stream_from`] with a graceful stop: once `stop` is
    /// cancelled, no more specs are read, requests that have not begun their
    /// first attempt end without an outcome, and requests already under way
    /// finish (retries included) before the stream ends. To stop those too,
    /// drop the stream.
    ///
    /// This is how the CLI drains on Ctrl-C: what finished is recorded, and
    /// what never started is left for `--resume`.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub fn stream_until<S>(
        &self,
        specs: S,
        stop: CancellationToken,
    ) -> impl Stream<Item = Outcome> + Send + 'static
    where
        S: Stream<Item = RequestSpec> + Send + 'static,
    {
        use futures_util::StreamExt as _;
        scheduler::run(self.clone(), specs, Some(stop)).map(|(_, outcome)| outcome)
    }

    /// Adds the client's default headers (the `User-Agent` among them) and
    /// `Accept-Encoding` where the request does not set them.
    fn with_defaults(&self, mut prepared: Prepared) -> Prepared {
        for (name, value) in &self.inner.config.default_headers {
            if !prepared.headers.contains_key(name) {
                prepared.headers.append(name.clone(), value.clone());
            }
        }
        if !prepared.headers.contains_key(http::header::ACCEPT_ENCODING) {
            prepared.headers.insert(
                http::header::ACCEPT_ENCODING,
                http::HeaderValue::from_static(body::ACCEPT_ENCODING),
            );
        }
        prepared
    }

    /// The record of a request whose last attempt gave `result`.
    fn record(
        &self,
        spec: &RequestSpec,
        prepared: &Prepared,
        attempts: u32,
        elapsed: Duration,
        result: Attempt,
    ) -> Outcome {
        let config = &self.inner.config;
        let mut outcome = Outcome::failed(spec, ErrorKind::Protocol, String::new());
        if outcome.method != prepared.method.as_str() {
            outcome.method = prepared.method.to_string();
        }
        outcome.attempts = attempts;
        outcome.elapsed_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        match result {
            Attempt::Failed(c) => {
                outcome.error = Some(ErrorInfo {
                    kind: c.kind,
                    message: c.message,
                });
            }
            Attempt::Received(received) => fill_response(&mut outcome, config, prepared, received),
        }
        outcome
    }
}

fn fill_response(outcome: &mut Outcome, config: &Config, prepared: &Prepared, r: Received) {
    let status = r.status.as_u16();
    let failing = config.status.is_failure(status);
    outcome.status = Some(status);
    outcome.ok = !failing;
    outcome.error = failing.then(|| ErrorInfo {
        kind: ErrorKind::HttpStatus,
        message: format!(
            "HTTP {status}{}{}",
            r.status.canonical_reason().map_or("", |_| " "),
            r.status.canonical_reason().unwrap_or("")
        ),
    });
    if let Some(url) = r.final_url.filter(|url| **url != prepared.url) {
        outcome.final_url = Some(String::from(*url));
    }
    outcome.bytes = r.bytes;
    let content_type = r.content_type.as_ref().and_then(|v| v.to_str().ok());
    if let Some(saved) = r.saved {
        // In its file, not in the record.
        match saved {
            Ok(path) => outcome.body_path = Some(path.to_string_lossy().into_owned()),
            Err(message) => outcome.save_error = Some(message),
        }
    } else if config.body_mode == body::BodyMode::Raw {
        outcome.raw_body = Some(Box::new(crate::outcome::RawBody {
            content_type: content_type.map(str::to_owned),
            bytes: r.body.into(),
        }));
    } else {
        (outcome.body, outcome.body_base64) = body::render(config.body_mode, content_type, &r.body);
    }
    if let Some(headers) = &r.headers {
        let mut map = serde_json::Map::new();
        for name in headers.keys() {
            let joined = headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ");
            map.insert(name.as_str().to_owned(), serde_json::Value::String(joined));
        }
        outcome.headers = Some(map);
    }
}

/// What an attempt says about its host's health, for adaptive throttling;
/// `None` when it says nothing about load (DNS, TLS, size, redirects, and a
/// refused or unreachable connect: nothing is there to be overloaded, and
/// slowing down would only make a run against a dead host take hours).
fn signal(result: &Attempt) -> Option<Signal> {
    match result {
        Attempt::Received(r) => {
            let status = r.status.as_u16();
            let retry_after = r.retry_after.is_some();
            match status {
                // With Retry-After the host is paused instead.
                429 | 503 if retry_after => None,
                429 | 503 => Some(Signal::Throttled),
                500..=599 => Some(Signal::Failed),
                _ => Some(Signal::Healthy),
            }
        }
        Attempt::Failed(c) => match c.kind {
            ErrorKind::Timeout | ErrorKind::Reset | ErrorKind::Protocol => Some(Signal::Failed),
            _ => None,
        },
    }
}
