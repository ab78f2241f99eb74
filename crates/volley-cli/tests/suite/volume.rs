//! Many requests: exactly one record per input line, input order with `--ordered`, completion order without.

use super::support::{by_index, index, run_args, Input, Testbed, FAST};

#[test]
fn ten_thousand_lines_give_ten_thousand_records() {
    const N: u64 = 10_000;
    let testbed = Testbed::start();
    let input = Input::lines((0..N).map(|i| testbed.url(&format!("/json/{i}"))));
    let run = run_args([input.path()].into_iter().chain(FAST));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.records.len() as u64, N);
    let records = by_index(&run.records);
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (0..N).collect::<Vec<_>>(),
        "every index exactly once"
    );
    for (&i, record) in &records {
        let want_url = testbed.url(&format!("/json/{i}"));
        assert_eq!(record["url"], want_url.as_str(), "{record}");
        assert_eq!(record["ok"], true, "{record}");
        assert_eq!(record["status"], 200, "{record}");
        assert_eq!(record["body"]["id"], i, "each body is its own: {record}");
    }
    assert_eq!(testbed.journal().total() as u64, N, "each fetched once");
}

/// A slow first request, then fast ones.
fn slow_first(testbed: &Testbed) -> Input {
    let mut lines = vec![testbed.url("/delay/300")];
    lines.extend((1..20).map(|i| testbed.url(&format!("/json/{i}"))));
    Input::lines(lines)
}

#[test]
fn ordered_output_is_input_order_even_when_the_first_request_is_slow() {
    let testbed = Testbed::start();
    let input = slow_first(&testbed);
    let run = run_args([input.path(), "--ordered"].into_iter().chain(FAST));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let order: Vec<u64> = run.records.iter().map(index).collect();
    assert_eq!(order, (0..20).collect::<Vec<_>>());
    assert_eq!(run.records[0]["body"]["delayed_ms"], 300);
}

#[test]
fn unordered_output_is_completion_order() {
    let testbed = Testbed::start();
    let input = slow_first(&testbed);
    let run = run_args([input.path()].into_iter().chain(FAST));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(by_index(&run.records).len(), 20);
    assert_ne!(
        index(&run.records[0]),
        0,
        "the slow first request was written first: {:?}",
        run.records.iter().map(index).collect::<Vec<_>>()
    );
}
