//! The command line: clap definitions (plain arguments), then validated into
//! a [`Config`] before any request is sent. A bad flag exits 2 here.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};

use crate::input::{Defaults, TemplateInput, ValuesFormat};
use crate::units::{parse_duration, parse_size};

const EXAMPLES: &str = "\
Examples:
  volley urls.txt -o out.jsonl
      Fetch every URL in urls.txt (one per line), 64 at a time, one JSON record each.
  volley requests.jsonl --per-host 8 --retries 5 --ordered
      JSON-lines specs ({\"url\", \"method\", \"headers\", \"body\" | \"json\", \"id\", ...}),
      at most 8 at once per host, records in input order.
  cat urls.txt | volley - --body none | jq -c 'select(.ok | not)'
      Read URLs from stdin and show the failures.
  volley urls.txt --rate 50/s --host-rate 10/s -o out.jsonl
      At most 50 requests/s in all and 10/s to any one host, with retries and
      Retry-After honoured for the whole host.
  volley ids.jsonl --rate 50/s -o users.jsonl --resume
      Run again after a crash or Ctrl-C: finished requests are kept and not
      fetched again; the rest are appended.
  volley --template 'https://api.example.com/users/{id}?lang={lang}' \\
         --values rows.csv --id-column id -o users.jsonl
      One request per row of rows.csv (its header row names the columns); values are
      percent-encoded, and each record carries the row's id and its columns as \"meta\".
  volley urls.txt --shard 2/8 -o part-2.jsonl
      One of 8 machines: only the hosts that hash to shard 2.
  volley demo
      Run 10,000 requests against the built-in local test API.

Exit status: 0 all succeeded, 1 some failed (see --fail-on) or output failed,
2 usage or input error, 130 interrupted (resumable with --resume).";

/// volley: fetch many web-API endpoints concurrently and reliably.
///
/// Reads requests (URL lines or JSON-lines specs) from files or stdin and
/// writes exactly one JSON record per request.
#[derive(Debug, Parser)]
#[command(name = "volley", version, about, after_help = EXAMPLES)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Input files, one request per line: a URL or a JSON spec; `-` is stdin
    /// (the default when stdin is not a terminal).
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// URL template: one request per row of --values, {column} replaced by
    /// the row's value, percent-encoded ({{ and }} are literal braces). -H
    /// values and the -d/--json body may hold {column}s too.
    #[arg(
        long,
        value_name = "URL",
        requires = "values",
        conflicts_with = "inputs"
    )]
    pub template: Option<String>,

    /// The rows for --template: CSV or TSV with a header row, or JSON lines
    /// of objects; `-` is stdin.
    #[arg(long, value_name = "FILE", requires = "template")]
    pub values: Option<String>,

    /// Format of --values [default: by extension: .csv, .tsv, .jsonl/.ndjson/.json].
    #[arg(long, value_enum, value_name = "FORMAT", requires = "values")]
    pub values_format: Option<ValuesFormat>,

    /// With --template: the column whose value is each record's id.
    #[arg(long, value_name = "NAME", requires = "template")]
    pub id_column: Option<String>,

    /// Write records to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Requests in flight at once, across all hosts.
    #[arg(short, long, default_value_t = 64, value_name = "N")]
    pub concurrency: usize,

    /// Requests in flight at once to one host (scheme, host, port) [default: --concurrency].
    #[arg(long, value_name = "N")]
    pub per_host: Option<usize>,

    /// Method for requests that do not set one.
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,

    /// Header for every request ("Name: value"); repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Header names to drop when a redirect leaves the origin, like Authorization; repeatable.
    #[arg(long = "secret-header", value_name = "NAME")]
    pub secret_headers: Vec<String>,

    /// Request body for requests that do not set one; `@FILE` reads a file.
    #[arg(short, long, value_name = "DATA", conflicts_with = "json")]
    pub data: Option<String>,

    /// JSON request body (sets Content-Type: application/json); `@FILE` reads a file.
    #[arg(long, value_name = "JSON")]
    pub json: Option<String>,

    /// Time allowed to establish a connection.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub connect_timeout: Duration,

    /// Deadline of one attempt: connect, redirects, headers and the whole body.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Retries after a failed attempt (connect errors, timeouts, resets, 408/429/5xx).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,

    /// Also retry POST and PATCH requests that may have reached the server.
    #[arg(long)]
    pub retry_non_idempotent: bool,

    /// Longest Retry-After honoured; a longer one fails the request at once.
    #[arg(long, default_value = "120s", value_parser = parse_duration, value_name = "DURATION")]
    pub max_retry_after: Duration,

    /// Most requests started per unit of time across the run (50/s, 600/min, 1000/h, 0.5/s).
    #[arg(long, value_name = "RATE")]
    pub rate: Option<volley::Rate>,

    /// Most requests started per unit of time to each host (scheme, host, port).
    #[arg(long, value_name = "RATE")]
    pub host_rate: Option<volley::Rate>,

    /// Requests a rate limit lets through at once after an idle spell.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub burst: u32,

    /// Do not slow a host down when it answers 429/503 or its errors spike.
    #[arg(long)]
    pub no_adaptive: bool,

    /// Largest body accepted, after decompression (e.g. 16MiB, 500KiB).
    #[arg(long, default_value = "16MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: u64,

    /// Most redirects followed per attempt.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub max_redirects: usize,

    /// How bodies go into records.
    #[arg(long, value_enum, default_value_t = BodyArg::Auto, value_name = "MODE")]
    pub body: BodyArg,

    /// Add response headers to each record.
    #[arg(long)]
    pub include_headers: bool,

    /// Write records in input order (default: as they complete).
    #[arg(long)]
    pub ordered: bool,

    /// Do not verify TLS certificates. Dangerous: the summary says so.
    #[arg(long)]
    pub insecure: bool,

    /// Trust the CA certificate(s) in this PEM file too.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Outcomes that make the exit status 1: any of error, 4xx, 5xx, a status
    /// such as 404, a range such as 500-599, or none. Statuses listed here
    /// are also recorded as ok:false.
    #[arg(long, default_value = "error,4xx,5xx", value_name = "LIST")]
    pub fail_on: String,

    /// User-Agent header [default: volley/VERSION].
    #[arg(long, value_name = "UA")]
    pub user_agent: Option<String>,

    /// Requests held at once (waiting, in flight, retrying): bounds memory.
    #[arg(long, value_name = "N")]
    pub read_ahead: Option<usize>,

    /// Longest input line (or --values row) accepted.
    #[arg(long, default_value = "1MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_line: u64,

    /// Continue an interrupted run: keep the records already in -o FILE
    /// (repairing a torn last line), skip their requests, append the rest.
    #[arg(long, requires = "output")]
    pub resume: bool,

    /// With --resume: drop damaged lines from the output instead of refusing.
    #[arg(long, requires = "resume")]
    pub repair: bool,

    /// With --resume: send again non-idempotent requests whose earlier
    /// outcome is unknown, instead of recording them as outcome_unknown.
    #[arg(long, requires = "resume")]
    pub replay_unknown: bool,

    /// Run only shard K of N: the requests whose host hashes to K (e.g. 0/4).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<volley::Shard>,

    /// On Ctrl-C or SIGTERM, how long requests in flight may take to finish.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub grace: Duration,

    /// Send every request through this proxy (http:// or https:// URL).
    /// Without it, HTTP_PROXY, HTTPS_PROXY and NO_PROXY are honoured.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Save each body to its own file in DIR as it arrives (named by id or
    /// index, with an extension from the content type); records carry
    /// `body_path` instead.
    #[arg(long, value_name = "DIR", conflicts_with = "body")]
    pub save_dir: Option<PathBuf>,

    /// Write the input spec of every failed request to FILE as a JSON line,
    /// ready to be run again with `volley FILE`.
    #[arg(long, value_name = "FILE")]
    pub failures: Option<PathBuf>,

    /// Also write the end-of-run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the built-in local test API and run a realistic batch against it.
    Demo {
        /// How many requests.
        #[arg(long, default_value_t = 10_000, value_name = "N")]
        requests: usize,
        /// Where to write the records [default: a file in the temp directory].
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout.
    Man,
}

/// `--body` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BodyArg {
    /// JSON for JSON responses, text for UTF-8, base64 for binary.
    Auto,
    /// JSON whenever the body parses as JSON.
    Json,
    /// Text for UTF-8, base64 otherwise.
    Text,
    /// Always base64.
    Base64,
    /// Count the bytes but do not record the body.
    None,
}

/// Which outcomes make the exit status 1.
#[derive(Clone, Debug)]
pub struct FailOn {
    /// Transport errors and invalid input count.
    pub errors: bool,
    /// Statuses that count (and are recorded as failures).
    pub statuses: volley::StatusPolicy,
}

/// A run's validated settings.
#[derive(Debug)]
pub struct Config {
    pub inputs: Vec<String>,
    pub output: Option<PathBuf>,
    pub ordered: bool,
    pub quiet: bool,
    pub insecure: bool,
    pub fail_on: FailOn,
    pub defaults: Defaults,
    pub max_line: usize,
    pub read_ahead: usize,
    pub resume: bool,
    pub repair: bool,
    pub replay_unknown: bool,
    pub shard: Option<volley::Shard>,
    pub grace: Duration,
    pub summary_json: Option<PathBuf>,
    pub save_dir: Option<PathBuf>,
    pub failures: Option<PathBuf>,
    /// `--template` with its `--values`: the input instead of `inputs`.
    pub template: Option<TemplateInput>,
    /// The engine, configured.
    pub client: volley::ClientBuilder,
}

impl Args {
    /// Checks the arguments and turns them into a [`Config`].
    ///
    /// # Errors
    ///
    /// A message for the user; the caller exits 2.
    pub fn validate(self) -> anyhow::Result<Config> {
        if self.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if self.per_host == Some(0) {
            bail!("--per-host must be at least 1");
        }
        let headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (body, json_body) = match (&self.data, &self.json) {
            (Some(data), None) => (Some(read_data(data)?), false),
            (None, Some(json)) => {
                let bytes = read_data(json)?;
                // With --template the body is a template, checked as one.
                if self.template.is_none() {
                    serde_json::from_slice::<serde_json::Value>(&bytes)
                        .context("--json is not valid JSON")?;
                }
                (Some(bytes), true)
            }
            _ => (None, false),
        };
        let fail_on = parse_fail_on(&self.fail_on)?;
        let defaults = Defaults {
            method: self.method,
            headers,
            body,
            json_body,
        };
        // `-X` and `-H` apply to every line: one the engine cannot send is a
        // usage error now, not one invalid record per input line later.
        defaults
            .check()
            .map_err(|e| anyhow::anyhow!("-X/-H: {e}"))?;
        let max_line = usize::try_from(self.max_line).unwrap_or(usize::MAX);
        let template = match (&self.template, self.values) {
            (Some(url), Some(values)) => Some(TemplateInput::new(
                url,
                &defaults,
                self.id_column,
                values,
                self.values_format,
                max_line,
            )?),
            _ => None,
        };
        let read_ahead = self
            .read_ahead
            .unwrap_or_else(|| self.concurrency.saturating_mul(16).max(1024));
        if read_ahead == 0 {
            bail!("--read-ahead must be at least 1");
        }
        let mut client = volley::Client::builder()
            .concurrency(self.concurrency)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .max_body(self.max_body)
            .max_redirects(self.max_redirects)
            .body(match self.body {
                BodyArg::Auto => volley::BodyMode::Auto,
                BodyArg::Json => volley::BodyMode::Json,
                BodyArg::Text => volley::BodyMode::Text,
                BodyArg::Base64 => volley::BodyMode::Base64,
                BodyArg::None => volley::BodyMode::None,
            })
            .include_headers(self.include_headers)
            .insecure(self.insecure)
            .read_ahead(read_ahead)
            .status_policy(fail_on.statuses.clone())
            .retry(
                volley::RetryPolicy::new()
                    .max_retries(self.retries)
                    .retry_non_idempotent(self.retry_non_idempotent)
                    .max_retry_after(self.max_retry_after),
            )
            .rate(rate_policy(
                self.rate,
                self.host_rate,
                self.burst,
                !self.no_adaptive,
            )?);
        if let Some(n) = self.per_host {
            client = client.per_host(n);
        }
        if let Some(dir) = &self.save_dir {
            client = client.save_bodies(dir);
        }
        if self.failures.is_some() {
            client = client.keep_requests(true);
        }
        if let Some(proxy) = &self.proxy {
            client = client.proxy(proxy.as_str());
        }
        if let Some(ua) = &self.user_agent {
            client = client.user_agent(ua.as_str());
        }
        for name in &self.secret_headers {
            client = client.secret_header(name.as_str());
        }
        if let Some(path) = &self.cacert {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --cacert {}", path.display()))?;
            client = client.add_root_certificate_pem(pem);
        }
        Ok(Config {
            inputs: self.inputs,
            output: self.output,
            ordered: self.ordered,
            quiet: self.quiet,
            insecure: self.insecure,
            fail_on,
            defaults,
            max_line,
            template,
            read_ahead,
            resume: self.resume,
            repair: self.repair,
            replay_unknown: self.replay_unknown,
            shard: self.shard,
            grace: self.grace,
            summary_json: self.summary_json,
            save_dir: self.save_dir,
            failures: self.failures,
            client,
        })
    }
}

fn rate_policy(
    global: Option<volley::Rate>,
    per_host: Option<volley::Rate>,
    burst: u32,
    adaptive: bool,
) -> anyhow::Result<volley::RatePolicy> {
    if burst == 0 {
        bail!("--burst must be at least 1");
    }
    let mut policy = volley::RatePolicy::new().adaptive(adaptive);
    if let Some(rate) = global {
        policy = policy.global(rate.burst(burst));
    }
    if let Some(rate) = per_host {
        policy = policy.per_host(rate.burst(burst));
    }
    Ok(policy)
}

/// `"Name: value"` → `(name, value)`.
fn parse_header(raw: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = raw.split_once(':') else {
        bail!("-H {raw:?}: expected \"Name: value\"");
    };
    let name = name.trim();
    if http_token(name).is_none() {
        bail!("-H {raw:?}: {name:?} is not a valid header name");
    }
    let value = value.trim();
    if value.chars().any(|c| c.is_control() && c != '\t') {
        bail!("-H {raw:?}: the value contains control characters");
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn http_token(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    ok.then_some(s)
}

/// `--data` / `--json` text, or the contents of the file after `@`.
fn read_data(raw: &str) -> anyhow::Result<Bytes> {
    match raw.strip_prefix('@') {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
            Ok(Bytes::from(bytes))
        }
        None => Ok(Bytes::copy_from_slice(raw.as_bytes())),
    }
}

/// Parses `--fail-on`.
pub fn parse_fail_on(raw: &str) -> anyhow::Result<FailOn> {
    let mut fail_on = FailOn {
        errors: false,
        statuses: volley::StatusPolicy::none(),
    };
    for token in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let token = token.to_ascii_lowercase();
        let range = match token.as_str() {
            "none" => continue,
            "error" | "errors" => {
                fail_on.errors = true;
                continue;
            }
            "4xx" => 400..=499,
            "5xx" => 500..=599,
            other => parse_status_range(other).with_context(|| {
                format!("--fail-on: {other:?} is not error, 4xx, 5xx, a status or a range")
            })?,
        };
        fail_on.statuses = fail_on.statuses.with(range);
    }
    Ok(fail_on)
}

fn parse_status_range(raw: &str) -> Option<std::ops::RangeInclusive<u16>> {
    let status = |s: &str| s.parse::<u16>().ok().filter(|c| (100..=999).contains(c));
    match raw.split_once('-') {
        Some((lo, hi)) => {
            let (lo, hi) = (status(lo)?, status(hi)?);
            (lo <= hi).then_some(lo..=hi)
        }
        None => status(raw).map(|c| c..=c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("X-A: b c ").expect("ok"),
            ("X-A".into(), "b c".into())
        );
        assert_eq!(parse_header("X:").expect("ok"), ("X".into(), String::new()));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: v").is_err());
        assert!(parse_header("X: a\u{1}b").is_err());
    }

    #[test]
    fn fail_on_lists() {
        let f = parse_fail_on("error,4xx,5xx").expect("default");
        assert!(f.errors && f.statuses.is_failure(404) && f.statuses.is_failure(503));
        let f = parse_fail_on("5xx").expect("5xx");
        assert!(!f.errors && !f.statuses.is_failure(404) && f.statuses.is_failure(500));
        let f = parse_fail_on("error, 404, 500-502").expect("mixed");
        assert!(f.statuses.is_failure(404) && f.statuses.is_failure(501));
        assert!(!f.statuses.is_failure(503) && !f.statuses.is_failure(403));
        let f = parse_fail_on("none").expect("none");
        assert!(!f.errors && !f.statuses.is_failure(500));
        for bad in ["5xxx", "abc", "600-500", "99", "error,x"] {
            assert!(parse_fail_on(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_validate() {
        let parse = |args: &[&str]| {
            let mut all = vec!["volley"];
            all.extend_from_slice(args);
            Args::try_parse_from(all)
                .map_err(|e| e.to_string())
                .and_then(|a| a.validate().map_err(|e| e.to_string()))
        };
        assert!(parse(&["-c", "0", "x"]).is_err());
        assert!(parse(&["--per-host", "0"]).is_err());
        assert!(parse(&["--json", "{nope"]).is_err());
        assert!(parse(&["--timeout", "soon"]).is_err());
        assert!(parse(&["-d", "a", "--json", "{}"]).is_err());
        assert!(parse(&["-X", "NOT A METHOD"]).is_err());
        let config = parse(&["--json", "{\"a\":1}", "-H", "A: b", "in.txt"]).expect("valid");
        assert!(config.defaults.json_body);
        assert_eq!(config.inputs, ["in.txt"]);
        assert_eq!(config.read_ahead, 1024);
    }
}
