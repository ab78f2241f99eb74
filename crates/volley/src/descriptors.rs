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
//! connection: with 256 at once to one host (nginx's access log), 135 of
//! the connections sent their first request 44 to 50 ms after the first.
//!
//! [`reserve_descriptors`] grows the table in one step to the size a run
//! will need, before its first request. [`ClientBuilder::build`] does it for
//! the client's concurrency; the CLI does it before starting its runtime,
//! while it has one thread and the growth waits for nothing.
//!
//! The table cannot grow past the soft limit on open files (`ulimit -n`,
//! often 1,024), and a connection past it fails ("Too many open files").
//! [`raise_open_files_limit`] lifts the soft limit towards what the run
//! needs, as far as the hard limit allows; the CLI calls it, and says so
//! when even the hard limit is too low. A library call never changes the
//! limit on its own: that is the program's decision.
//!
//! [`ClientBuilder::build`]: crate::ClientBuilder::build

use std::io;

use crate::pool::MAX_IDLE;

/// Descriptors for everything but connections and saved bodies: standard
/// streams, input and output files, the runtime's own, DNS lookups.
const BESIDES: usize = 64;
/// The largest table reserved up front (512 KiB of pointers). A run with
/// more in flight grows the table further as it goes.
const MOST: usize = 65_536;

/// Two descriptors per request in flight, and [`BESIDES`]: what a run
/// holds besides its idle connections (a connection and a saved body's file
/// per request), and also the least it needs (a connection per request,
/// and room for as many idle ones, so that a connection is kept between two
/// requests to one origin).
fn two_per_request(concurrency: usize) -> usize {
    concurrency.saturating_mul(2).saturating_add(BESIDES)
}

/// What a run of `concurrency` requests at once may hold open: the above,
/// and the pool's idle connections (kept for the next request to their
/// origin; see [`idle_room`]).
fn wanted(concurrency: usize) -> usize {
    two_per_request(concurrency).saturating_add(concurrency.max(MAX_IDLE))
}

/// How many idle connections the pool may keep without the process going
/// past its soft limit on open files: what the limit leaves after a
/// connection and a saved body's file per request in flight and
/// [`BESIDES`], but never fewer than `concurrency`. (Measured with a
/// limit of 1,024 and 1,500 origins at concurrency 64: with 1,024 idle
/// connections kept, 488 requests failed with "Too many open files".)
pub(crate) fn idle_room(concurrency: usize) -> usize {
    soft_limit()
        .saturating_sub(two_per_request(concurrency))
        .max(concurrency)
}

#[cfg(unix)]
fn soft_limit() -> usize {
    let current = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    current.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(not(unix))]
fn soft_limit() -> usize {
    usize::MAX
}

/// Grows this process's descriptor table to fit a run of `concurrency`
/// requests at once, so that opening their connections and files never
/// waits for the kernel to grow it. Returns the number of descriptors the
/// table now holds without growing (at least; the kernel may make it
/// larger), or 0 where there is nothing to do (not Unix).
///
/// Costs nothing when called before the process starts a second thread;
/// after, one wait of a few milliseconds at most, once. The table is capped
/// by the soft limit on open files (`ulimit -n`), which this does not raise
/// (see [`raise_open_files_limit`]).
///
/// # Errors
///
/// The limit on open files is already reached, or `/dev/null` cannot be
/// opened. Nothing is changed then, and the run works as it would have.
pub fn reserve_descriptors(concurrency: usize) -> io::Result<usize> {
    grow_to(wanted(concurrency).min(MOST))
}

/// The limit on open files against what a run needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit now in force (`u64::MAX` when there is none).
    pub limit: u64,
    /// What the run needs at the least: a connection per request in flight,
    /// room for as many idle ones, and 64 descriptors for everything else.
    pub needed: u64,
}

impl OpenFiles {
    /// Some connections of the run would fail with "Too many open files".
    pub fn too_low(&self) -> bool {
        self.limit < self.needed
    }

    /// The most requests in flight that the limit leaves room for (at
    /// least 1).
    pub fn concurrency_that_fits(&self) -> usize {
        let room = self.limit.saturating_sub(BESIDES as u64) / 2;
        usize::try_from(room).unwrap_or(usize::MAX).max(1)
    }
}

/// Raises this process's soft limit on open files (`ulimit -n`) to what a
/// run of `concurrency` requests at once may hold, as far as the hard limit
/// allows; never lowers it. Returns the limit now in force, and what the run
/// needs at the least. Child processes inherit the raised limit.
///
/// # Errors
///
/// The limit cannot be changed; it is then as it was.
pub fn raise_open_files_limit(concurrency: usize) -> io::Result<OpenFiles> {
    let needed = u64::try_from(two_per_request(concurrency)).unwrap_or(u64::MAX);
    let wanted = u64::try_from(wanted(concurrency)).unwrap_or(u64::MAX);
    Ok(OpenFiles {
        limit: raise_to(wanted)?,
        needed,
    })
}

#[cfg(unix)]
fn raise_to(wanted: u64) -> io::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

    // `None` is "unlimited" in both fields.
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let Some(soft) = current else {
        return Ok(u64::MAX);
    };
    let raised = maximum.map_or(wanted, |hard| hard.min(wanted));
    if raised <= soft {
        return Ok(soft);
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(raised),
            maximum,
        },
    )?;
    Ok(raised)
}

#[cfg(not(unix))]
fn raise_to(_wanted: u64) -> io::Result<u64> {
    Ok(u64::MAX)
}

#[cfg(unix)]
fn grow_to(wanted: usize) -> io::Result<usize> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The largest table this process has grown to here. The table never
    /// shrinks, so a later call for no more (the CLI's, then
    /// `ClientBuilder::build`'s) has nothing to do.
    static GROWN: AtomicUsize = AtomicUsize::new(0);

    // A descriptor numbered at the limit or past it cannot be opened at all.
    let size = wanted.min(soft_limit());
    if size <= GROWN.load(Ordering::Relaxed) {
        return Ok(size);
    }
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
    GROWN.fetch_max(size, Ordering::Relaxed);
    Ok(size)
}

#[cfg(not(unix))]
fn grow_to(_wanted: usize) -> io::Result<usize> {
    Ok(0)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::sync::Mutex;

    use rustix::process::{getrlimit, Resource};

    use super::*;

    /// The tests read the limit that one of them raises: one at a time.
    static LIMIT: Mutex<()> = Mutex::new(());

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
    fn the_table_holds_what_a_run_may_hold_open() {
        let _one = LIMIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reserved = reserve_descriptors(1_000).expect("reserve");
        // 1,000 connections, 1,024 idle ones, 1,000 files, 64 others.
        assert_eq!(reserved, 3_088.min(soft_limit()));
        assert!(table_size() >= reserved, "FDSize {}", table_size());
        // Already large enough: nothing more happens.
        assert_eq!(
            reserve_descriptors(10).expect("reserve"),
            1_108.min(soft_limit())
        );
    }

    #[test]
    fn the_table_stays_under_the_open_files_limit() {
        let _one = LIMIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reserved = reserve_descriptors(usize::MAX).expect("reserve");
        assert_eq!(reserved, MOST.min(soft_limit()));
    }

    #[test]
    fn the_soft_limit_rises_to_what_a_run_needs_and_never_falls() {
        let _one = LIMIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = soft_limit() as u64;
        let hard = getrlimit(Resource::Nofile).maximum.unwrap_or(u64::MAX);
        // One request in flight: 1 connection, 1,024 idle ones, 1 file, 64
        // others. The limit rises to that if it is lower, and stays if not.
        let small = raise_open_files_limit(1).expect("raise");
        assert_eq!(
            small,
            OpenFiles {
                limit: before.max(hard.min(1_090)),
                needed: 66
            }
        );
        assert!(!small.too_low());
        // A run that needs more than the hard limit gets the hard limit.
        let huge = usize::try_from(hard.min(1 << 40)).unwrap_or(usize::MAX);
        let big = raise_open_files_limit(huge).expect("raise");
        assert_eq!(big.limit, hard);
        assert_eq!(soft_limit() as u64, big.limit);
        let short = OpenFiles {
            limit: 1_024,
            needed: 2_064,
        };
        assert!(short.too_low());
        assert_eq!(short.concurrency_that_fits(), 480);
        let tiny = OpenFiles {
            limit: 10,
            needed: 164,
        };
        assert_eq!(tiny.concurrency_that_fits(), 1);
    }
}
