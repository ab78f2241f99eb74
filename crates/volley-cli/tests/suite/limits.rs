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
