//! In-order delivery of one direction of a TCP stream, with a bounded out-of-order buffer.
//!
//! Segments arrive in capture order, which is not stream order. Bytes at the expected offset
//! are delivered at once; later bytes wait in a buffer of at most [`MAX_OOO_BYTES`]; when that
//! fills, or the stream ends, the missing range is reported as a gap and delivery goes on.
//! Retransmitted bytes are delivered once.

use std::collections::BTreeMap;

/// Out-of-order bytes buffered per direction before a gap is declared.
pub const MAX_OOO_BYTES: usize = 64 * 1024;

/// What the reassembler hands to the application layer.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    Data(&'a [u8]),
    /// This many bytes will never be seen.
    Gap(u64),
}

#[derive(Debug, Default)]
pub struct Reassembler {
    next: u64,
    started: bool,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Bytes reported as gaps.
    pub missed: u64,
}

impl Reassembler {
    /// Starts the stream at `offset` (0 when the SYN was seen; the first byte seen otherwise).
    pub fn start_at(&mut self, offset: u64) {
        if !self.started {
            self.next = offset;
            self.started = true;
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// Adds a segment whose first byte is at stream `offset`.
    pub fn push(&mut self, offset: u64, data: &[u8], deliver: &mut dyn FnMut(Delivery<'_>)) {
        if data.is_empty() {
            return;
        }
        self.start_at(offset);
        let end = offset + data.len() as u64;
        if end <= self.next {
            return;
        }
        if offset <= self.next {
            let skip = (self.next - offset) as usize;
            deliver(Delivery::Data(&data[skip..]));
            self.next = end;
            self.drain(deliver);
            return;
        }
        if self.pending_bytes + data.len() > MAX_OOO_BYTES {
            self.skip_to_first_pending(Some(offset), deliver);
            if offset <= self.next {
                self.push(offset, data, deliver);
                return;
            }
        }
        let slot = self.pending.entry(offset).or_default();
        if data.len() > slot.len() {
            self.pending_bytes += data.len() - slot.len();
            *slot = data.to_vec();
        }
    }

    /// Delivers buffered segments that have become contiguous.
    fn drain(&mut self, deliver: &mut dyn FnMut(Delivery<'_>)) {
        while let Some((&off, _)) = self.pending.first_key_value() {
            if off > self.next {
                break;
            }
            let Some((off, seg)) = self.pending.pop_first() else { break };
            self.pending_bytes -= seg.len();
            let end = off + seg.len() as u64;
            if end > self.next {
                let skip = (self.next - off) as usize;
                deliver(Delivery::Data(&seg[skip..]));
                self.next = end;
            }
        }
    }

    /// Declares the hole before the first buffered segment (or `also`) lost.
    fn skip_to_first_pending(&mut self, also: Option<u64>, deliver: &mut dyn FnMut(Delivery<'_>)) {
        let first = self.pending.keys().next().copied().into_iter().chain(also).min();
        if let Some(first) = first {
            if first > self.next {
                let gap = first - self.next;
                self.missed += gap;
                deliver(Delivery::Gap(gap));
                self.next = first;
            }
            self.drain(deliver);
        }
    }

    /// The receiver acknowledged everything below `end`: a hole it covers, with data buffered
    /// behind it, will never be filled by the capture, so it is reported as a gap now and the
    /// waiting data delivered — a request after a lost one is not held until the flow ends.
    pub fn acked_to(&mut self, end: u64, deliver: &mut dyn FnMut(Delivery<'_>)) {
        let Some(&first) = self.pending.keys().next() else { return };
        if self.started && first > self.next && end >= first {
            self.skip_to_first_pending(None, deliver);
        }
    }

    /// End of stream: everything buffered is delivered, holes reported as gaps.
    pub fn finish(&mut self, deliver: &mut dyn FnMut(Delivery<'_>)) {
        while !self.pending.is_empty() {
            self.skip_to_first_pending(None, deliver);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(r: &mut Reassembler, segs: &[(u64, &[u8])], finish: bool) -> (Vec<u8>, Vec<u64>) {
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        let mut d = |x: Delivery<'_>| match x {
            Delivery::Data(b) => data.extend_from_slice(b),
            Delivery::Gap(n) => gaps.push(n),
        };
        for (off, seg) in segs {
            r.push(*off, seg, &mut d);
        }
        if finish {
            r.finish(&mut d);
        }
        (data, gaps)
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted() {
        let mut r = Reassembler::default();
        r.start_at(0);
        let (data, gaps) = collect(&mut r, &[(0, b"abc"), (6, b"ghi"), (3, b"def"), (3, b"def"), (1, b"bcdX")], true);
        assert_eq!(data, b"abcdefghi");
        assert!(gaps.is_empty());
    }

    #[test]
    fn overlapping_retransmission_delivers_only_new_bytes() {
        let mut r = Reassembler::default();
        let (data, _) = collect(&mut r, &[(10, b"0123"), (12, b"23456")], false);
        assert_eq!(data, b"0123456");
    }

    #[test]
    fn an_acknowledged_hole_releases_the_data_behind_it() {
        let mut r = Reassembler::default();
        r.start_at(0);
        let (data, gaps) = collect(&mut r, &[(0, b"ab"), (5, b"fg")], false);
        assert_eq!((data.as_slice(), gaps.len()), (&b"ab"[..], 0));
        let mut got = Vec::new();
        let mut holes = Vec::new();
        r.acked_to(4, &mut |d| {
            if let Delivery::Gap(n) = d {
                holes.push(n)
            }
        });
        assert!(holes.is_empty(), "an ack short of the buffered data changes nothing");
        r.acked_to(7, &mut |d| match d {
            Delivery::Data(b) => got.extend_from_slice(b),
            Delivery::Gap(n) => holes.push(n),
        });
        assert_eq!((got.as_slice(), holes.as_slice()), (&b"fg"[..], &[3u64][..]));
    }

    #[test]
    fn hole_at_end_becomes_gap() {
        let mut r = Reassembler::default();
        r.start_at(0);
        let (data, gaps) = collect(&mut r, &[(0, b"ab"), (5, b"fg")], true);
        assert_eq!(data, b"abfg");
        assert_eq!(gaps, vec![3]);
        assert_eq!(r.missed, 3);
    }

    #[test]
    fn buffer_limit_forces_gap_not_growth() {
        let mut r = Reassembler::default();
        r.start_at(0);
        let big = vec![7u8; 1000];
        let mut segs: Vec<(u64, &[u8])> = Vec::new();
        for i in 0..200u64 {
            segs.push((10 + i * 1000, &big));
        }
        let (data, gaps) = collect(&mut r, &segs, false);
        assert!(r.pending_bytes <= MAX_OOO_BYTES);
        assert_eq!(gaps.first(), Some(&10));
        assert!(!data.is_empty());
    }
}
