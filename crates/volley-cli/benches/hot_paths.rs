//! Micro-benchmarks of the per-request work the profiles of the FAST
//! workload name (see docs/performance.md): everything volley does for a
//! request besides the HTTP exchange itself.
//!
//! ```text
//! cargo bench -p volley-cli --bench hot_paths
//! cargo bench -p volley-cli --bench hot_paths -- record/   # one group
//! ```
//!
//! Each benchmark handles one request's worth of input or output, so its
//! time reads directly as a cost per request.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use volley::hot_paths::{host_key, render_body};
use volley::{BodyMode, ErrorKind, Outcome, RequestSpec};
use volley_cli::input::{Defaults, Item, LineParser, Location, DEFAULT_MAX_LINE_LEN};
use volley_cli::resume::Key;
use volley_cli::summary::Tally;

/// A small JSON API response, the shape of the benchmark's FAST endpoint.
const JSON_BODY: &str = concat!(
    r#"{"id": 4242, "name": "item 4242", "active": true, "score": 71.3, "#,
    r#""email": "grace@example.com", "tags": ["api", "sample"], "#,
    r#""owner": {"login": "grace", "id": 917}, "#,
    r#""created_at": "2024-03-17T12:41:00Z"}"#
);

/// JSON spec lines parsed per batch (see `input`).
const SPEC_BATCH: usize = 64;

const URL: &str = "http://127.0.0.1:8080/json/4242?fields=id,name&page=3";

fn at(line: u64) -> Location<'static> {
    Location {
        source: "urls.txt",
        line,
    }
}

/// Reading input: one line to one checked spec.
fn input(c: &mut Criterion) {
    let mut group = c.benchmark_group("input");
    group.throughput(Throughput::Elements(1));
    let mut parser = LineParser::new(Defaults::default(), DEFAULT_MAX_LINE_LEN);
    group.bench_function("url line", |b| {
        let mut line = 0;
        b.iter(|| {
            line += 1;
            let item = parser.parse_str(at(line), black_box(URL));
            assert!(matches!(item, Some(Item::Spec(_))));
            item
        });
    });
    let spec_line = format!(
        r#"{{"id": "order-4242", "method": "POST", "url": "{URL}", "headers": {{"Authorization": "Bearer abc.def", "Accept": "application/json"}}, "json": {{"qty": 3, "sku": "A-17"}}, "meta": {{"batch": 9}}}}"#
    );
    // Ids must be unique within a parser: batches of lines with fresh ids,
    // each batch with a fresh parser, so that its memory of ids stays small.
    group.throughput(Throughput::Elements(SPEC_BATCH as u64));
    group.bench_function("json spec line", |b| {
        let mut first = 0;
        b.iter_batched(
            || {
                first += SPEC_BATCH;
                let lines: Vec<String> = (first..first + SPEC_BATCH)
                    .map(|n| spec_line.replace("order-4242", &format!("order-{n}")))
                    .collect();
                (
                    LineParser::new(Defaults::default(), DEFAULT_MAX_LINE_LEN),
                    lines,
                )
            },
            |(mut parser, lines)| {
                for (n, text) in lines.iter().enumerate() {
                    let item = parser.parse_str(at(n as u64 + 1), text);
                    assert!(matches!(item, Some(Item::Spec(_))));
                    black_box(item);
                }
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

/// The engine's share before sending: the URL parse and the host's key.
fn url(c: &mut Criterion) {
    let mut group = c.benchmark_group("url");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse, origin seen before", |b| {
        b.iter(|| volley::parse_url(black_box(URL)).expect("valid"));
    });
    let fresh: Vec<String> = (0..4096)
        .map(|i| format!("https://api-{i}.example.com/v1/items/{i}"))
        .collect();
    group.bench_function("parse, new origin", |b| {
        let mut next = fresh.iter().cycle();
        b.iter(|| volley::parse_url(black_box(next.next().expect("cycle"))).expect("valid"));
    });
    group.bench_function("validate, origin seen before", |b| {
        let spec = RequestSpec::get(URL);
        b.iter(|| black_box(&spec).validate().expect("valid"));
    });
    let parsed = volley::parse_url(URL).expect("valid");
    group.bench_function("host key", |b| b.iter(|| host_key(black_box(&parsed))));
    group.finish();
}

/// A finished request on its way out: the body embedded, the record
/// serialised, counted for the summary and keyed for `--resume`.
fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    let json = JSON_BODY.as_bytes();
    group.bench_function("body, JSON", |b| {
        b.iter(|| render_body(BodyMode::Auto, Some("application/json"), black_box(json)));
    });
    let pretty = serde_json::to_vec_pretty(
        &serde_json::from_str::<serde_json::Value>(JSON_BODY).expect("valid"),
    )
    .expect("serialises");
    group.bench_function("body, JSON over several lines", |b| {
        b.iter(|| render_body(BodyMode::Auto, Some("application/json"), black_box(&pretty)));
    });
    let text = "plain text, \"quoted\", with a tab\tand some more words ".repeat(4);
    group.bench_function("body, text", |b| {
        b.iter(|| {
            render_body(
                BodyMode::Auto,
                Some("text/plain"),
                black_box(text.as_bytes()),
            )
        });
    });

    let outcome = success(json);
    let mut line = Vec::with_capacity(4096);
    group.bench_function("serialise", |b| {
        b.iter(|| {
            line.clear();
            serde_json::to_writer(&mut line, black_box(&outcome)).expect("serialises");
            line.push(b'\n');
            line.len()
        });
    });
    let fail_on = volley_cli::cli::parse_fail_on("error").expect("valid");
    let mut tally = Tally::default();
    group.bench_function("tally", |b| {
        b.iter(|| tally.add(black_box(&outcome), &fail_on));
    });
    group.bench_function("resume key", |b| {
        b.iter(|| {
            Key::of(
                black_box(outcome.id.as_deref()),
                outcome.index,
                &outcome.method,
                &outcome.url,
            )
        });
    });
    group.finish();
}

/// The record of a 200 with a JSON body, as the engine makes it.
fn success(body: &[u8]) -> Outcome {
    let spec = RequestSpec::get(URL).with_index(4242);
    let mut outcome = Outcome::failed(&spec, ErrorKind::Connect, "replaced below");
    let (value, base64) = render_body(BodyMode::Auto, Some("application/json"), body);
    outcome.error = None;
    outcome.status = Some(200);
    outcome.ok = true;
    outcome.attempts = 1;
    outcome.elapsed_ms = 3.217;
    outcome.bytes = body.len() as u64;
    outcome.body = value;
    outcome.body_base64 = base64;
    outcome
}

criterion_group!(benches, input, url, record);
criterion_main!(benches);
