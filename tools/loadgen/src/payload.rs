//! Payload layout and the process-wide clock.
//!
//! Every payload is at least [`MIN_SIZE`] bytes: bytes 0..8 hold the sequence number
//! (little endian; the publisher index sits in the top 16 bits, see [`seq_of`]), bytes 8..16
//! a send timestamp in nanoseconds since the process epoch. The rest is a fixed filler.
//! All threads share one epoch, so a timestamp written by one thread can be subtracted from
//! [`now_ns`] on another.

use std::sync::OnceLock;
use std::time::Instant;

/// Smallest payload that carries a sequence number and a timestamp.
pub const MIN_SIZE: usize = 16;
/// Bits of the sequence field that count messages; the bits above hold the publisher index.
const SEQ_BITS: u32 = 48;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call in this process (monotonic).
pub fn now_ns() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Sequence field for message `n` of publisher `publisher`.
pub fn seq_of(publisher: usize, n: u64) -> u64 {
    ((publisher as u64) << SEQ_BITS) | (n & ((1 << SEQ_BITS) - 1))
}

/// Splits a sequence field into (publisher index, message number).
pub fn split_seq(seq: u64) -> (usize, u64) {
    ((seq >> SEQ_BITS) as usize, seq & ((1 << SEQ_BITS) - 1))
}

/// A payload template of `size` bytes (size is raised to [`MIN_SIZE`]).
pub fn template(size: usize) -> Vec<u8> {
    (0..size.max(MIN_SIZE))
        .map(|i| b'a' + (i % 26) as u8)
        .collect()
}

/// Writes the sequence field and timestamp into the first 16 bytes of `payload`.
pub fn stamp(payload: &mut [u8], seq: u64, ts_ns: u64) {
    if payload.len() >= MIN_SIZE {
        payload[..8].copy_from_slice(&seq.to_le_bytes());
        payload[8..16].copy_from_slice(&ts_ns.to_le_bytes());
    }
}

/// Reads (sequence field, timestamp) from a payload; `None` if it is too short.
pub fn read(payload: &[u8]) -> Option<(u64, u64)> {
    let seq = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let ts = u64::from_le_bytes(payload.get(8..16)?.try_into().ok()?);
    Some((seq, ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_and_read_round_trip() {
        let mut p = template(20);
        assert_eq!(p.len(), 20);
        stamp(&mut p, seq_of(3, 99), 12345);
        let (seq, ts) = read(&p).unwrap();
        assert_eq!(split_seq(seq), (3, 99));
        assert_eq!(ts, 12345);
        assert_eq!(read(&p[..10]), None);
        assert_eq!(template(1).len(), MIN_SIZE);
    }

    #[test]
    fn clock_is_monotonic() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a);
    }
}
