//! `volley demo`: the main job, end to end, against the built-in local API.
//!
//! Starts the testbed on 127.0.0.1, writes an input file of endpoints with a
//! realistic mix (mostly JSON, some slow, some 404, some 503-then-ok, a few
//! resets), runs it through exactly the same path as `volley FILE -o OUT`,
//! and says where the records are. No network needed.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Parser as _;

use crate::cli::Args;
use crate::exit::Exit;

/// The demo's input: `n` endpoint URLs on `testbed`, deterministic.
pub fn endpoints(testbed: &testbed::Testbed, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            // Each hundred requests holds the same mix, spread through it (37
            // is prime to 100) as a real API's failures are, not in runs.
            let path = match (i * 37) % 100 {
                0..=69 => format!("/json/{i}"),
                70..=79 => format!("/delay/{}", 20 + (i * 37) % 280),
                80..=86 => "/status/404".to_owned(),
                87..=93 => format!("/flaky/demo-{i}/1/503"),
                94..=97 => format!("/text/{i}"),
                _ => "/reset/headers".to_owned(),
            };
            testbed.url(&path)
        })
        .collect()
}

/// Runs the demo; the exit status is 0 when every request got its record.
pub async fn run(requests: usize, output: Option<PathBuf>) -> Exit {
    match demo(requests, output).await {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("volley demo: error: {e:#}");
            Exit::Failures
        }
    }
}

async fn demo(requests: usize, output: Option<PathBuf>) -> anyhow::Result<Exit> {
    let testbed = testbed::Testbed::start();
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let input = dir.join(format!("volley-demo-{pid}-input.txt"));
    let output = output.unwrap_or_else(|| dir.join(format!("volley-demo-{pid}.jsonl")));
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input)?);
        for url in endpoints(&testbed, requests) {
            writeln!(file, "{url}")?;
        }
        file.flush()?;
    }
    eprintln!(
        "volley demo: test API on http://{}, {requests} requests (JSON, slow, 404, 503-then-ok, resets)",
        testbed.addr()
    );
    let args = Args::try_parse_from([
        "volley".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        output.as_os_str(),
    ])?;
    let config = args.validate()?;
    let report = crate::execute(config).await?;
    let _ = std::fs::remove_file(&input);
    eprintln!("volley demo: records written to {}", output.display());
    eprintln!(
        "volley demo: try  jq -c 'select(.ok | not) | {{index, url, status, error}}' {} | head",
        output.display()
    );
    if report.tally.total == requests as u64 {
        Ok(Exit::Success)
    } else {
        eprintln!(
            "volley demo: expected {requests} records, wrote {}",
            report.tally.total
        );
        Ok(Exit::Failures)
    }
}
