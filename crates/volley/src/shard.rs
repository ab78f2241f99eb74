//! Sharding a batch across machines by host.
//!
//! `--shard K/N` keeps the requests whose host falls in shard K, so every
//! request to one host runs in exactly one shard and per-host limits keep
//! holding when N copies run on N machines. The mapping must be the same on
//! every machine and every version, so it uses a fixed, documented hash
//! (64-bit FNV-1a of the lower-cased host name) rather than the standard
//! library's randomly keyed one.

use std::fmt;
use std::str::FromStr;

/// One shard of N: `index` in `0..count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// True when requests to `host` belong to this shard.
    pub fn owns_host(&self, host: &str) -> bool {
        shard_of(host, self.count) == self.index
    }

    /// True when position `index` in the input belongs to this shard; for
    /// lines with no usable host (they still need exactly one record).
    pub fn owns_position(&self, index: u64) -> bool {
        index % u64::from(self.count) == u64::from(self.index)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N`, e.g. `0/4`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a shard like 0/4 (K/N with K < N)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k = k.trim().parse().map_err(|_| bad())?;
        let n = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n).ok_or_else(bad)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard in `0..count` that `host` belongs to (`count` 0 is treated as 1).
pub fn shard_of(host: &str, count: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in host.trim_end_matches('.').bytes() {
        hash ^= u64::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(count.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Reference values of 64-bit FNV-1a, so that shards never move
        // between versions or machines.
        let fnv = |s: &str| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in s.bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            h
        };
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv("foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(
            u64::from(shard_of("foobar", u32::MAX)),
            0x8594_4171_f739_67e8 % u64::from(u32::MAX)
        );
    }

    #[test]
    fn hosts_map_to_one_shard_whatever_the_case() {
        assert_eq!(
            shard_of("API.Example.com", 7),
            shard_of("api.example.com", 7)
        );
        assert_eq!(
            shard_of("api.example.com.", 7),
            shard_of("api.example.com", 7)
        );
        let spread: std::collections::HashSet<u32> = (0..200)
            .map(|i| shard_of(&format!("host{i}.test"), 4))
            .collect();
        assert_eq!(spread.len(), 4, "hosts spread over every shard");
    }

    #[test]
    fn shards_parse() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/4", "0/0", "-1/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shard = Shard::new(2, 3).expect("valid");
        assert!(shard.owns_position(5) && !shard.owns_position(4));
    }
}
