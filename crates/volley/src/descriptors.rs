//! The process's table of file descriptors, grown once before a run.
//!
//! Linux sizes a process's descriptor table in powers of two and grows it
//! when a new descriptor needs a number past its end. In a process with more
//! than one thread, each growth then waits for an RCU grace period before
//! the old table is freed (`expand_fdtable` in the kernel's `fs/file.c`):
//! milliseconds, during which the thread opening the descriptor is blocked,
//! and on a one-worker runtime every request with it. On the benchmark
//! machine, growing to 256, 512 and 1,024 slots took 7.4, 7.9 and 15.9 ms
//! with a second thread alive, and 0.005 ms without. A run that opens its
//! connections all at once meets that wait at its 64th, 128th and 256th
//! connection: with 256 at once to one host (nginx's access log), the last
//! ~130 connections sent their first request some 30 ms after the first.
//!
//! [`reserve_descriptors`] grows the table in one step to the size a run
//! will need, before its first request. [`ClientBuilder::build`] does it for
//! the client's concurrency; the CLI does it before starting its runtime,
//! while it has one thread and the growth waits for nothing.
//!
//! [`ClientBuilder::build`]: crate::ClientBuilder::build

use std::io;

/// Descriptors a run may hold per request in flight: its connection, and
/// the file its body is saved to.
const PER_REQUEST: usize = 2;
/// Descriptors for everything else: standard streams, input and output
/// files, the runtime's own, idle connections beyond the ones in use.
const BESIDES: usize = 64;
/// The largest table reserved up front (512 KiB of pointers). A run with
/// more in flight grows the table further as it goes.
const MOST: usize = 65_536;

/// Grows this process's descriptor table to fit a run of `concurrency`
/// requests at once, so that opening their connections and files never
/// waits for the kernel to grow it. Returns the number of descriptors the
/// table now holds without growing (at least; the kernel may make it
/// larger), or 0 where there is nothing to do (not Unix).
///
/// Costs nothing when called before the process starts a second thread;
/// after, one wait of a few milliseconds at most, once. The table is capped
/// by the soft limit on open files (`ulimit -n`), which this does not raise.
///
/// # Errors
///
/// The limit on open files is already reached, or `/dev/null` cannot be
/// opened. Nothing is changed then, and the run works as it would have.
pub fn reserve_descriptors(concurrency: usize) -> io::Result<usize> {
    let wanted = concurrency
        .saturating_mul(PER_REQUEST)
        .saturating_add(BESIDES)
        .min(MOST);
    grow_to(wanted)
}

#[cfg(unix)]
fn grow_to(wanted: usize) -> io::Result<usize> {
    use rustix::process::{getrlimit, Resource};

    // A descriptor numbered `limit` or more cannot be opened at all.
    let limit = getrlimit(Resource::Nofile)
        .current
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let size = wanted.min(limit);
    let Some(highest) = size.checked_sub(1) else {
        return Ok(0);
    };
    let highest = i32::try_from(highest).unwrap_or(i32::MAX);
    // Asking for a duplicate numbered at least `highest` makes the kernel
    // grow the table to hold it; closing both leaves the table grown. A
    // fresh descriptor, not a fixed number: another thread may own that one.
    let null = std::fs::File::open("/dev/null")?;
    let high = rustix::io::fcntl_dupfd_cloexec(&null, highest)?;
    drop(high);
    Ok(size)
}

#[cfg(not(unix))]
fn grow_to(_wanted: usize) -> io::Result<usize> {
    Ok(0)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The table's size, from `FDSize` in `/proc/self/status`.
    fn table_size() -> usize {
        let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
        status
            .lines()
            .find_map(|line| line.strip_prefix("FDSize:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("an FDSize line")
    }

    #[test]
    fn the_table_holds_a_connection_and_a_file_per_request() {
        let reserved = reserve_descriptors(1_000).expect("reserve");
        assert_eq!(reserved, 2_064.min(limit()));
        assert!(table_size() >= reserved, "FDSize {}", table_size());
        // Already large enough: nothing more happens.
        assert_eq!(reserve_descriptors(10).expect("reserve"), 84);
    }

    #[test]
    fn the_table_stays_under_the_open_files_limit() {
        let reserved = reserve_descriptors(usize::MAX).expect("reserve");
        assert_eq!(reserved, MOST.min(limit()));
    }

    fn limit() -> usize {
        let current = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        current.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}
