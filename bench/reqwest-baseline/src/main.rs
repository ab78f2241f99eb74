//! reqwest-baseline: the hand-written concurrent fetcher volley is measured
//! against — one `reqwest::Client`, `buffer_unordered(C)`, one small JSON line
//! per URL. Deliberately plain: no retries, no per-host limit, the whole URL
//! list in memory, as one would write it in an afternoon.
//!
//! Usage: `reqwest-baseline URLS_FILE OUT_FILE CONCURRENCY`

use std::time::Instant;

use futures::stream::{self, StreamExt};
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: reqwest-baseline URLS_FILE OUT_FILE CONCURRENCY");
        std::process::exit(2);
    }
    let concurrency: usize = args[3].parse()?;
    let text = tokio::fs::read_to_string(&args[1]).await?;
    let urls: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();

    let client = reqwest::Client::new();
    let out = tokio::fs::File::create(&args[2]).await?;
    let mut out = tokio::io::BufWriter::new(out);

    let mut results = stream::iter(urls.into_iter().enumerate())
        .map(|(index, url)| {
            let client = client.clone();
            async move {
                let start = Instant::now();
                let result = async {
                    let response = client.get(&url).send().await?;
                    let status = response.status().as_u16();
                    let body = response.bytes().await?;
                    Ok::<_, reqwest::Error>((status, body.len()))
                }
                .await;
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                match result {
                    Ok((status, bytes)) => serde_json::json!({
                        "index": index, "url": url, "status": status,
                        "bytes": bytes, "elapsed_ms": ms,
                    }),
                    Err(e) => serde_json::json!({
                        "index": index, "url": url, "error": e.to_string(),
                        "elapsed_ms": ms,
                    }),
                }
            }
        })
        .buffer_unordered(concurrency);

    while let Some(record) = results.next().await {
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        out.write_all(&line).await?;
    }
    out.flush().await?;
    Ok(())
}
