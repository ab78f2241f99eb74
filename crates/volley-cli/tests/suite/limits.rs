//! FAULTS.md row 22: `--per-host` and `--concurrency`, checked by the server's in-flight high-water marks.

use super::support::{run_args, Input, FAST};

#[test]
fn per_host_and_global_limits_hold_over_two_hosts() {
    let testbed = testbed::Testbed::start_with(testbed::Options {
        listeners: 2,
        ..testbed::Options::default()
    });
    // 200 requests alternating between the two listeners ("hosts").
    let input = Input::lines((0..200).map(|i| testbed.url_on(i % 2, "/delay/20")));
    let run = run_args(
        [input.path(), "--per-host", "4", "--concurrency", "6"]
            .into_iter()
            .chain(FAST),
    );

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), 200);
    assert!(run.records.iter().all(|r| r["ok"] == true));
    let journal = testbed.journal();
    assert_eq!(journal.total(), 200);
    for addr in testbed.addrs() {
        let seen = journal.max_in_flight_on(addr.port());
        assert!(
            seen <= 4,
            "{seen} in flight at once on {addr}, over --per-host 4"
        );
    }
    let all = journal.max_in_flight();
    assert!(all <= 6, "{all} in flight at once, over --concurrency 6");
    assert!(
        all >= 2,
        "only {all} in flight at once: requests were not concurrent"
    );
}

/// More requests in flight than the soft limit on open files allows
/// (`ulimit -Sn 128`, a common default is 1,024): volley raises the soft
/// limit towards the hard one, and every connection opens. (Without that,
/// with `ulimit -Sn 256` and `-c 400`, 749 of 1,000 requests failed with
/// "Too many open files".)
#[test]
fn a_low_soft_limit_on_open_files_is_raised_for_the_run() {
    if hard_open_files_limit() < 1_024 {
        eprintln!("skipped: the hard limit on open files is below 1,024 here");
        return;
    }
    let testbed = testbed::Testbed::start();
    let input = Input::lines((0..400).map(|i| testbed.url(&format!("/delay/200?i={i}"))));
    // Only the soft limit: the hard one stays as it was.
    let run = run_under_ulimit("-Sn 128", &[input.path(), "--concurrency", "200"]);

    all_ok_without_warning(&run, 400);
    assert!(testbed.journal().max_in_flight() > 128);
}

/// When even the hard limit is below what --concurrency needs, volley says
/// so and runs with the concurrency that fits, rather than failing the
/// connections past the limit (with `ulimit -n 256` and `-c 400`, 744 of
/// 1,000 requests failed so).
#[test]
fn a_hard_limit_too_low_for_the_concurrency_lowers_it_with_a_warning() {
    let testbed = testbed::Testbed::start();
    let input = Input::lines((0..300).map(|i| testbed.url(&format!("/delay/100?i={i}"))));
    // Both limits.
    let run = run_under_ulimit("-n 128", &[input.path(), "--concurrency", "500"]);

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains(
            "volley: warning: at most 128 files may be open at once (`ulimit -n`), \
             fewer than the 1064 that --concurrency 500 needs; running with --concurrency 32"
        ),
        "stderr: {}",
        run.stderr
    );
    assert_eq!(run.records.len(), 300);
    assert!(run.records.iter().all(|r| r["ok"] == true));
    let seen = testbed.journal().max_in_flight();
    assert!(seen <= 32, "{seen} in flight at once, over the 32 that fit");
}

/// More origins than the limit on open files has room for idle
/// connections to: the pool keeps fewer idle ones rather than running out.
/// (With `ulimit -n 1024`, 1,500 origins and `-c 64`, keeping up to 1,024
/// idle connections failed 488 requests with "Too many open files".)
#[test]
fn idle_connections_to_many_origins_stay_under_the_open_files_limit() {
    let origins = 1_100;
    // This process holds the testbed's 1,100 listeners and the server side
    // of every connection; the child lowers its own limit to 1,024.
    let room = volley::raise_open_files_limit(origins).expect("the limit can be read");
    if room.limit < 3_000 || hard_open_files_limit() < 1_024 {
        eprintln!("skipped: too few open files allowed here");
        return;
    }
    let testbed = testbed::Testbed::start_with(testbed::Options {
        listeners: origins,
        ..testbed::Options::default()
    });
    let input = Input::lines((0..origins).map(|i| testbed.url_on(i, &format!("/json/{i}"))));
    let run = run_under_ulimit("-n 1024", &[input.path(), "--concurrency", "64"]);

    all_ok_without_warning(&run, origins);
}

/// The run exited 0 with `count` records, all ok, and warned of nothing.
fn all_ok_without_warning(run: &super::support::Run, count: usize) {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.records.len(), count);
    let failed: Vec<_> = run.records.iter().filter(|r| r["ok"] != true).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {}",
        failed.len(),
        failed[0]
    );
    assert!(!run.stderr.contains("warning"), "stderr: {}", run.stderr);
}

/// Runs `volley ARGS… FAST…` after the shell's `ulimit LIMIT` (the shell
/// sets the limit, then becomes volley).
fn run_under_ulimit(limit: &str, args: &[&str]) -> super::support::Run {
    let volley = assert_cmd::cargo::cargo_bin("volley");
    let script = format!(r#"ulimit {limit} && exec "$0" "$@""#);
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.args(["-c", &script])
        .arg(&volley)
        .args(args)
        .args(FAST)
        .timeout(std::time::Duration::from_secs(60));
    super::support::run(&mut cmd)
}

/// The hard limit on open files this test runs under (`/proc/self/limits`).
fn hard_open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("procfs");
    limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(4))
        .map_or(u64::MAX, |hard| hard.parse().unwrap_or(u64::MAX))
}
