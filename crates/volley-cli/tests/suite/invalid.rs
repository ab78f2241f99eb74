//! FAULTS.md row 19: unusable input lines each become one `invalid_request` record, are never sent, and make the exit status 1.

use std::collections::BTreeSet;

use super::support::{by_index, message, run_args, Input, Testbed, FAST};

#[test]
fn each_bad_line_is_one_invalid_record_and_never_sent() {
    let testbed = Testbed::start();
    let long_line = format!("{}{}", testbed.url("/json/"), "x".repeat(10_000_000));
    let dup = |path: &str| format!(r#"{{"url": "{}", "id": "dup"}}"#, testbed.url(path));
    // Line numbers on the right: the comment and the blank line count too.
    let lines: Vec<String> = vec![
        "# good and bad lines mixed".to_owned(), // 1
        testbed.url("/json/a1"),                 // 2
        "{not json".to_owned(),                  // 3
        testbed.url("/json/a2"),                 // 4
        r#"{"method":"GET"}"#.to_owned(),        // 5
        "file:///etc/passwd".to_owned(),         // 6
        "ftp://example.com/x".to_owned(),        // 7
        testbed.url("/json/a3"),                 // 8
        testbed.url("/json/ctl\u{7}x"),          // 9
        dup("/json/first"),                      // 10
        dup("/json/second"),                     // 11
        long_line,                               // 12
        String::new(),                           // 13
        testbed.url("/json/last"),               // 14
    ];
    let input = Input::lines(&lines);
    let run = run_args([input.path(), "--retries", "0"].into_iter().chain(FAST));

    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    // Request lines are numbered from 0, skipping the comment and the blank line.
    let records = by_index(&run.records);
    assert_eq!(records.len(), 12, "one record per request line");
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (0..12).collect::<Vec<_>>()
    );

    // (index, line number, what the message says about it)
    let bad = [
        (1, 3, "not valid JSON"),
        (3, 5, "no \"url\" field"),
        (4, 6, "unsupported scheme \"file\""),
        (5, 7, "unsupported scheme \"ftp\""),
        (7, 9, "control"),
        (9, 11, "duplicate id \"dup\""),
        (10, 12, "line too long"),
    ];
    for (index, line, reason) in bad {
        let record = records[&index];
        assert_eq!(record["ok"], false, "{record}");
        assert_eq!(record["attempts"], 0, "{record}");
        assert_eq!(record["status"], serde_json::Value::Null, "{record}");
        assert_eq!(record["error"]["kind"], "invalid_request", "{record}");
        let message = message(record);
        let prefix = format!("{} line {line}: ", input.path());
        assert!(
            message.starts_with(&prefix),
            "line {line}: message does not start with {prefix:?}: {message:?}"
        );
        assert!(
            message.contains(reason),
            "line {line}: {message:?} lacks {reason:?}"
        );
    }
    assert_eq!(records[&9]["id"], "dup", "the duplicate keeps its id");
    let long_url = records[&10]["url"].as_str().expect("a url");
    assert!(
        long_url.chars().count() <= 201,
        "the record carries only the start of a 10 MB line"
    );

    // The good lines around the bad ones were fetched, once each.
    let good = [
        (0, "/json/a1"),
        (2, "/json/a2"),
        (6, "/json/a3"),
        (8, "/json/first"),
        (11, "/json/last"),
    ];
    for (index, path) in good {
        let record = records[&index];
        assert_eq!(record["ok"], true, "{record}");
        assert_eq!(record["url"], testbed.url(path).as_str(), "{record}");
        assert_eq!(testbed.journal().count(path), 1, "{path}");
    }
    assert_eq!(records[&8]["id"], "dup", "the first use of an id is fine");

    // Nothing else reached the server.
    let want: BTreeSet<&str> = good.iter().map(|(_, path)| *path).collect();
    let seen: Vec<String> = testbed
        .journal()
        .requests()
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(seen.len(), want.len(), "requests seen: {seen:?}");
    assert!(
        seen.iter().all(|path| want.contains(path.as_str())),
        "requests seen: {seen:?}"
    );
}
