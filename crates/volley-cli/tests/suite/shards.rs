//! `--shard K/N`: N shards of one input partition it exactly, by host name; invalid lines too; the outputs concatenate, and `--resume` works per shard.
//!
//! The shard is chosen by host *name* only, so every 127.0.0.1 URL (all
//! ports) lands in one shard. The many other hosts are names under
//! `.invalid`, which fail at once with `dns` and never touch the network.

use std::collections::{BTreeMap, BTreeSet};

use super::support::{by_index, read_records, run_args, Input, Testbed, FAST};

/// One input line and what it is.
struct Line {
    text: String,
    /// The host name the shard is chosen by; `None` for a line with no usable host.
    host: Option<String>,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A testbed URL on 127.0.0.1: fetched, `ok`.
    Local,
    /// A name under `.invalid`: a `dns` failure, never sent.
    Unresolvable,
    /// An unusable line: `invalid_request`.
    Invalid,
}

/// 400 lines: 127.0.0.1 on three ports, 41 `.invalid` hosts, and invalid
/// lines (an `ftp://` URL, not a URL, a JSON line whose `url` is a number).
fn lines(testbed: &Testbed) -> Vec<Line> {
    (0..400)
        .map(|i| {
            let name = format!("h{}.invalid", (i * 7) % 41);
            match i % 8 {
                0 => Line {
                    text: testbed.url_on(i / 8 % 3, &format!("/json/{i}")),
                    host: Some("127.0.0.1".to_owned()),
                    kind: Kind::Local,
                },
                1 if i % 16 == 1 => Line {
                    text: format!("not a url {i}"),
                    host: None,
                    kind: Kind::Invalid,
                },
                1 => Line {
                    text: format!(r#"{{"url": {i}}}"#),
                    host: None,
                    kind: Kind::Invalid,
                },
                // An unusable URL has no host to go by, even when it
                // names one: it is spread by position like any bad line.
                2 => Line {
                    text: format!("ftp://{name}/{i}"),
                    host: None,
                    kind: Kind::Invalid,
                },
                _ => Line {
                    text: format!("http://{name}/{i}"),
                    host: Some(name),
                    kind: Kind::Unresolvable,
                },
            }
        })
        .collect()
}

/// A testbed listening on three ports of 127.0.0.1.
fn three_ports() -> Testbed {
    Testbed::start_with(testbed::Options {
        listeners: 3,
        ..testbed::Options::default()
    })
}

/// Runs shards 0..n of one input and checks that they partition it.
fn shards_partition_the_input(n: u32) {
    let testbed = three_ports();
    let lines = lines(&testbed);
    let input = Input::lines(lines.iter().map(|l| l.text.as_str()));
    let total = lines.len() as u64;

    let mut concatenated = String::new();
    let mut shards_of_host: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for k in 0..n {
        let out = input.sibling(&format!("part-{k}.jsonl"));
        let shard = format!("{k}/{n}");
        let run = run_args(
            [
                input.path(),
                "--shard",
                &shard,
                "--body",
                "none",
                "-o",
                out.to_str().expect("UTF-8"),
            ]
            .into_iter()
            .chain(FAST),
        );
        let records = read_records(&out);
        let mine = by_index(&records);
        let all_ok = mine.values().all(|r| r["ok"] == true);
        assert_eq!(
            run.code,
            Some(if all_ok { 0 } else { 1 }),
            "shard {shard}; stderr: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(&format!(
                "shard {shard}: {} requests belong to other shards",
                total - mine.len() as u64
            )),
            "stderr: {}",
            run.stderr
        );
        for (&i, record) in &mine {
            let line = &lines[i as usize];
            // The record keeps the input's global index.
            let expected = match &line.host {
                Some(host) => volley::shard_of(host, n),
                None => (i % u64::from(n)) as u32,
            };
            assert_eq!(expected, k, "line {i} ({}) ran in shard {shard}", line.text);
            if let Some(host) = &line.host {
                shards_of_host.entry(host).or_default().insert(k);
            }
            let kind = &record["error"]["kind"];
            match line.kind {
                Kind::Local => assert_eq!(record["ok"], true, "{record}"),
                Kind::Unresolvable => {
                    assert_eq!(kind, "dns", "{record}");
                    assert_eq!(record["attempts"], 1, "{record}");
                }
                Kind::Invalid => assert_eq!(kind, "invalid_request", "{record}"),
            }
        }
        concatenated.push_str(&std::fs::read_to_string(&out).expect("read the part"));
    }

    // The parts concatenate into one record per input line: every index in
    // exactly one shard (`by_index` fails on a second one), invalid lines
    // included.
    let all = super::support::records(&concatenated);
    let all = by_index(&all);
    assert_eq!(
        all.keys().copied().collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>()
    );
    let invalid = all
        .values()
        .filter(|r| r["error"]["kind"] == "invalid_request")
        .count();
    let want = lines.iter().filter(|l| l.kind == Kind::Invalid).count();
    assert_eq!(invalid, want, "each invalid line exactly once");
    // Every request to one host ran in one shard.
    for (host, shards) in &shards_of_host {
        assert_eq!(shards.len(), 1, "{host} ran in shards {shards:?}");
    }
    assert!(shards_of_host.len() > 40, "{} hosts", shards_of_host.len());
    let used: BTreeSet<u32> = shards_of_host.values().flatten().copied().collect();
    assert_eq!(
        used.len(),
        n as usize,
        "hosts land in every shard: {used:?}"
    );
    // The testbed saw each of its requests once, whatever the shard.
    let local = lines.iter().filter(|l| l.kind == Kind::Local).count();
    let journal = testbed.journal();
    assert_eq!(journal.total(), local);
    for (i, line) in lines.iter().enumerate() {
        if line.kind == Kind::Local {
            assert_eq!(journal.count(&format!("/json/{i}")), 1, "{}", line.text);
        }
    }
}

#[test]
fn three_shards_partition_the_input_by_host() {
    shards_partition_the_input(3);
}

#[test]
fn four_shards_partition_the_input_by_host() {
    shards_partition_the_input(4);
}

#[test]
fn resume_works_per_shard() {
    let testbed = three_ports();
    let lines = lines(&testbed);
    let input = Input::lines(lines.iter().map(|l| l.text.as_str()));
    let local = volley::shard_of("127.0.0.1", 2);
    let shard = format!("{local}/2");
    let out = input.sibling("part.jsonl");
    let args = [
        input.path(),
        "--shard",
        &shard,
        "--body",
        "none",
        "-o",
        out.to_str().expect("UTF-8"),
    ];
    let run = run_args(args.into_iter().chain(FAST));
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let first = std::fs::read_to_string(&out).expect("read the part");
    let sent = testbed.journal().total();
    assert!(sent > 0, "the 127.0.0.1 lines are in shard {shard}");

    // Resuming a finished shard fetches nothing and writes nothing.
    let run = run_args(args.into_iter().chain(["--resume"]).chain(FAST));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let done = first.lines().count();
    assert!(
        run.stderr.contains(&format!(
            "resumed: {done} requests already done were skipped"
        )),
        "stderr: {}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&out).expect("read the part"), first);
    assert_eq!(testbed.journal().total(), sent);
}
