//! The asyncio tutorial's program, in volley.
//!
//! The Python original fetches three APIs with one `aiohttp.ClientSession`
//! and `asyncio.gather`, and wraps each fetch in `try/except ClientError`.
//! Here the same shape runs against the local testbed (so it needs no
//! network): one shared client, all requests concurrent, results in input
//! order, and each failure handled on its own — it is data in its outcome,
//! so one bad URL never hides the others' results.
//!
//! Run with `cargo run -p volley --example gather`.

use volley::{Client, RequestSpec};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), volley::BuildError> {
    let api = testbed::Testbed::start();
    let urls = [
        api.url("/json/data1"),
        api.url("/json/data2"),
        api.url("/json/data3"),
        api.url("/status/404"),               // an API error
        api.url("/flaky/example/1/503"),      // fails once, then succeeds on retry
        "http://api.invalid/data".to_owned(), // a host that does not exist
    ];

    // `async with aiohttp.ClientSession() as session:` — one pool for all.
    let client = Client::builder().concurrency(16).build()?;

    // `tasks = [fetch_data(session, url) for url in urls]`
    let specs: Vec<RequestSpec> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| RequestSpec::get(url.as_str()).with_index(i as u64))
        .collect();

    // `results = await asyncio.gather(*tasks)` — input order, none lost.
    for outcome in client.gather(specs).await {
        // `except aiohttp.ClientError as e: print(f"Error fetching {url}: {e}")`
        match &outcome.error {
            None => println!(
                "{} -> {} after {} attempt(s): {}",
                outcome.url,
                outcome.status.unwrap_or_default(),
                outcome.attempts,
                outcome.text().unwrap_or_default()
            ),
            Some(error) => println!(
                "Error fetching {}: {} ({})",
                outcome.url, error.kind, error.message
            ),
        }
    }
    Ok(())
}
