//! TCP endpoint state, sequence accounting and Zeek's `history` letters.
//!
//! This follows Zeek's TCP session adapter closely so that `conn_state`, `history` and byte
//! counts agree with conn.log: endpoint states INACTIVE → SYN_SENT/SYN_ACK_SENT →
//! ESTABLISHED/PARTIAL → CLOSED/RESET, sequence space starting at the SYN (or one before the
//! first byte seen), sizes from the highest sequence number sent or acknowledged, minus the SYN
//! and FIN octets. Checksums are not verified (as Zeek with `-C`): captures taken on a sending
//! host carry offloaded, unfilled checksums.

use crate::decode::packet::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};
use crate::model::ConnState;

/// Sequence jumps beyond this on SYN/RST are not trusted (Zeek's TOO_LARGE_SEQ_DELTA).
const TOO_LARGE_SEQ_DELTA: i64 = 1_048_576;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// One side of a TCP connection.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub state: TcpState,
    pub prev_state: TcpState,
    initialized: bool,
    /// Absolute sequence number of the (real or assumed) SYN.
    start: u32,
    /// Highest sequence end seen, relative to `start`, 64-bit so long streams do not wrap.
    last: u64,
    /// Highest sequence acknowledged by the peer, relative to `start`.
    acked: u64,
    pub fin_count: u32,
    hist_last_syn: Option<u64>,
    hist_last_fin: Option<u64>,
    hist_last_rst: Option<u64>,
    rxmits: u32,
    zero_windows: u32,
    pub did_close: bool,
}

impl Endpoint {
    fn set_state(&mut self, s: TcpState) {
        self.prev_state = self.state;
        self.state = s;
    }

    /// Relative position of an absolute sequence number near `reference` (relative).
    fn relative(&self, seq: u32, reference: u64) -> u64 {
        let low = u64::from(seq.wrapping_sub(self.start));
        let epoch = reference & !0xffff_ffff;
        let mut candidate = epoch | low;
        if candidate + (1 << 31) < reference {
            candidate += 1 << 32;
        } else if candidate > reference + (1 << 31) && candidate >= (1 << 32) {
            candidate -= 1 << 32;
        }
        candidate
    }

    fn init(&mut self, seq: u32, seg_end_rel_from_seq: u32, syn: bool) {
        if syn {
            self.start = seq;
            self.last = u64::from(seg_end_rel_from_seq);
        } else {
            self.start = seq.wrapping_sub(1);
            // First packet of a partial connection is not a retransmission.
            self.last = 1;
        }
        self.acked = 0;
        self.initialized = true;
    }

    /// Payload bytes as Zeek's `TCP_Endpoint::Size()` counts them.
    pub fn size(&self, peer: &Endpoint) -> u64 {
        if self.prev_state == TcpState::SynSent && self.state == TcpState::Reset && peer.state == TcpState::Inactive {
            return 0;
        }
        if !self.initialized {
            return 0;
        }
        let mut size = self.last.max(self.acked);
        size = size.saturating_sub(1);
        if self.fin_count > 0 {
            size = size.saturating_sub(1);
        }
        size
    }
}

/// Zeek's history string with its once-per-direction and logarithmic repeat rules.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub letters: String,
    seen: u32,
}

impl History {
    fn bit(letter: char, orig: bool) -> u32 {
        let idx = match letter {
            'S' => 0,
            'H' => 1,
            'A' => 2,
            'D' => 3,
            'F' => 4,
            'R' => 5,
            'Q' => 6,
            'I' => 7,
            'T' => 8,
            'W' => 9,
            _ => 10,
        };
        1 << (idx * 2 + u32::from(!orig))
    }

    fn push(&mut self, letter: char, orig: bool) {
        self.letters.push(if orig { letter } else { letter.to_ascii_lowercase() });
    }

    /// Adds the letter the first time it is seen in this direction; returns whether it had
    /// been seen before.
    fn check(&mut self, letter: char, orig: bool) -> bool {
        let bit = Self::bit(letter, orig);
        if self.seen & bit != 0 {
            return true;
        }
        self.seen |= bit;
        self.push(letter, orig);
        false
    }

    /// Logarithmic letters (T, W): added at the 1st, 10th, 100th … occurrence.
    fn scaled(&mut self, letter: char, orig: bool, count: u32) {
        if count == 1 || (count >= 10 && is_power_of_ten(count)) {
            self.push(letter, orig);
        }
    }

    /// Marks a direction flip done by the originator heuristics.
    pub fn flip(&mut self) {
        self.letters.push('^');
    }
}

fn is_power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n % 10 == 0 {
        n /= 10;
    }
    n == 1
}

/// Both endpoints of a TCP connection plus its history.
#[derive(Debug, Clone, Default)]
pub struct TcpConn {
    pub orig: Endpoint,
    pub resp: Endpoint,
    pub history: History,
}

/// What a packet did to the connection's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// Position of the segment's first payload byte in the sender's stream (0-based), for
    /// reassembly; `None` when the packet carries no trustworthy sequence (RST payloads).
    pub stream_offset: Option<u64>,
    /// An endpoint closed in this packet (FIN or RST).
    pub closed: bool,
    /// How far into the peer's stream this packet acknowledges (exclusive end offset), when it
    /// carries a trustworthy ACK: bytes below it were received, whether captured or not.
    pub peer_acked: Option<u64>,
}

impl TcpConn {
    /// Processes one segment sent by the originator (`from_orig`) or responder.
    pub fn segment(&mut self, from_orig: bool, seq: u32, ack: u32, flags: u8, window: u16, len: u32) -> Update {
        let syn = flags & TCP_SYN != 0;
        let fin = flags & TCP_FIN != 0;
        let rst = flags & TCP_RST != 0;
        let has_ack = flags & TCP_ACK != 0;
        let mut seg_len = len + u32::from(syn) + u32::from(fin);
        if rst {
            seg_len -= len;
        }
        let (ep, peer) = if from_orig { (&mut self.orig, &mut self.resp) } else { (&mut self.resp, &mut self.orig) };

        // Initialise or re-initialise the sender's sequence space (Zeek's init_endpoint).
        match ep.state {
            TcpState::Inactive => ep.init(seq, seg_len, syn),
            TcpState::SynSent | TcpState::SynAckSent if syn && seq != ep.start => ep.init(seq, seg_len, true),
            TcpState::Established | TcpState::Partial if syn => ep.init(seq, seg_len, true),
            TcpState::Reset if syn && ep.prev_state == TcpState::Inactive => ep.init(seq, seg_len, true),
            _ => {}
        }
        let rel_seq = ep.relative(seq, ep.last);

        // History letters (Zeek's update_history).
        let bits = u8::from(syn) + u8::from(fin) + u8::from(rst);
        if bits > 1 {
            if fin && rst {
                self.history.check('I', from_orig);
            } else {
                self.history.check('Q', from_orig);
            }
        } else if bits == 1 {
            if syn {
                let code = if has_ack { 'H' } else { 'S' };
                if self.history.check(code, from_orig) && ep.hist_last_syn != Some(rel_seq) {
                    self.history.push(code, from_orig);
                }
                ep.hist_last_syn = Some(rel_seq);
            }
            if fin {
                let at = rel_seq + u64::from(len);
                if self.history.check('F', from_orig) && ep.hist_last_fin != Some(at) {
                    self.history.push('F', from_orig);
                }
                ep.hist_last_fin = Some(at);
            }
            if rst {
                if self.history.check('R', from_orig) && ep.hist_last_rst != Some(rel_seq) {
                    self.history.push('R', from_orig);
                }
                ep.hist_last_rst = Some(rel_seq);
            }
        } else if len > 0 {
            self.history.check('D', from_orig);
        } else if has_ack {
            self.history.check('A', from_orig);
        }
        if window == 0 && !rst && !syn && peer.state != TcpState::Closed && ep.state != TcpState::Reset {
            ep.zero_windows += 1;
            self.history.scaled('W', from_orig, ep.zero_windows);
        }
        if fin {
            ep.fin_count += 1;
        }

        // The peer's acknowledged sequence (Zeek's update_ack_seq).
        let mut peer_acked = None;
        if has_ack && !rst && peer.state != TcpState::Inactive && peer.initialized {
            let rel_ack = peer.relative(ack, peer.acked.max(peer.last));
            let jump = rel_ack as i64 - peer.acked as i64;
            if !(ack == 0 && jump > TOO_LARGE_SEQ_DELTA) && rel_ack > peer.acked && rel_ack <= peer.last + (1 << 30) {
                peer.acked = rel_ack;
            }
            // Relative sequence 1 is stream offset 0.
            peer_acked = Some(peer.acked.saturating_sub(1));
        }

        // Highest sequence sent (Zeek's update_last_seq).
        let seg_end = rel_seq + u64::from(seg_len);
        let delta = seg_end as i64 - ep.last as i64;
        if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
        } else if fin && ep.last == 1 {
            ep.last = seg_end;
        } else if ep.state == TcpState::Reset {
        } else if delta > 0 {
            ep.last = seg_end;
        } else if len > 0 {
            ep.rxmits += 1;
            self.history.scaled('T', from_orig, ep.rxmits);
        }

        let closed = self.update_state(from_orig, seq, has_ack, syn, fin, rst, len);
        let data_rel = if syn { rel_seq + 1 } else { rel_seq };
        Update { stream_offset: (!rst).then(|| data_rel.saturating_sub(1)), closed, peer_acked }
    }

    /// Zeek's UpdateStateMachine. Returns whether an endpoint closed.
    #[allow(clippy::too_many_arguments)]
    fn update_state(
        &mut self,
        from_orig: bool,
        _seq: u32,
        has_ack: bool,
        syn: bool,
        fin: bool,
        rst: bool,
        len: u32,
    ) -> bool {
        let orig_state = self.orig.state;
        let (ep, peer) = if from_orig { (&mut self.orig, &mut self.resp) } else { (&mut self.resp, &mut self.orig) };
        let mut closed = false;
        match ep.state {
            TcpState::Inactive => {
                if syn {
                    if from_orig {
                        ep.set_state(if has_ack { TcpState::SynAckSent } else { TcpState::SynSent });
                    } else {
                        if peer.state == TcpState::SynSent {
                            peer.set_state(TcpState::Established);
                        }
                        ep.set_state(TcpState::Established);
                    }
                }
                if fin {
                    ep.set_state(TcpState::Closed);
                    closed = true;
                }
                if rst {
                    ep.set_state(TcpState::Reset);
                    closed = true;
                }
                if ep.state == TcpState::Inactive {
                    if !from_orig && len == 0 && orig_state == TcpState::SynSent {
                        // An ACK of the SYN before the SYN-ACK: not a partial connection.
                    } else if has_ack && peer.state == TcpState::Established {
                        ep.set_state(TcpState::Established);
                    } else {
                        ep.set_state(TcpState::Partial);
                    }
                }
            }
            TcpState::SynSent | TcpState::SynAckSent => {
                if fin {
                    ep.set_state(TcpState::Closed);
                    closed = true;
                }
                if rst {
                    ep.set_state(TcpState::Reset);
                    closed = true;
                }
            }
            TcpState::Established | TcpState::Partial => {
                if syn && ep.state == TcpState::Partial && peer.state == TcpState::Inactive && !has_ack {
                    ep.set_state(TcpState::SynSent);
                }
                if fin && !rst {
                    ep.set_state(TcpState::Closed);
                    if peer.state == TcpState::Reset && peer.prev_state == TcpState::Closed {
                        peer.set_state(TcpState::Closed);
                    }
                    closed = true;
                }
                if rst {
                    ep.set_state(TcpState::Reset);
                    closed = true;
                }
            }
            TcpState::Closed => {
                if rst && peer.state != TcpState::Closed {
                    ep.set_state(TcpState::Reset);
                    closed = true;
                }
            }
            TcpState::Reset => {}
        }
        if closed {
            ep.did_close = true;
        }
        closed
    }

    /// Both sides closed, or one reset: the connection is over (Zeek's close_complete).
    pub fn close_complete(&self) -> bool {
        let o = &self.orig;
        let r = &self.resp;
        (o.did_close && r.did_close)
            || o.state == TcpState::Reset
            || r.state == TcpState::Reset
            || (o.did_close && r.state == TcpState::Inactive)
            || (r.did_close && o.state == TcpState::Inactive)
    }

    /// One side closed, the other is active and has not.
    pub fn half_closed(&self) -> bool {
        (self.orig.did_close != self.resp.did_close)
            && self.orig.state != TcpState::Inactive
            && self.resp.state != TcpState::Inactive
    }

    /// A connection attempt nobody answered yet.
    pub fn is_attempt(&self) -> bool {
        matches!(self.orig.state, TcpState::SynSent | TcpState::SynAckSent) && self.resp.state == TcpState::Inactive
    }

    /// Zeek's `conn_state` for a TCP connection.
    pub fn conn_state(&self) -> ConnState {
        use TcpState::*;
        let os = self.orig.state;
        let rs = self.resp.state;
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if matches!(os, SynSent | SynAckSent)
                || (os == Reset && self.orig.size(&self.resp) == 0 && self.resp.size(&self.orig) == 0)
            {
                ConnState::REJ
            } else if o_inactive {
                ConnState::RSTRH
            } else {
                ConnState::RSTR
            }
        } else if os == Reset {
            if r_inactive {
                if rst_os0_history(&self.history.letters) {
                    ConnState::RSTOS0
                } else {
                    ConnState::OTH
                }
            } else {
                ConnState::RSTO
            }
        } else if rs == Closed && os == Closed {
            ConnState::SF
        } else if os == Closed {
            if r_inactive {
                ConnState::SH
            } else {
                ConnState::S2
            }
        } else if rs == Closed {
            if o_inactive {
                ConnState::SHR
            } else {
                ConnState::S3
            }
        } else if os == SynSent && rs == Inactive {
            ConnState::S0
        } else if os == Established && rs == Established {
            ConnState::S1
        } else {
            ConnState::OTH
        }
    }

    pub fn orig_bytes(&self) -> u64 {
        self.orig.size(&self.resp)
    }

    pub fn resp_bytes(&self) -> u64 {
        self.resp.size(&self.orig)
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` test for RSTOS0.
fn rst_os0_history(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else { return false };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u8 = TCP_SYN;
    const SA: u8 = TCP_SYN | TCP_ACK;
    const A: u8 = TCP_ACK;
    const PA: u8 = TCP_ACK | 0x08;
    const FA: u8 = TCP_FIN | TCP_ACK;
    const R: u8 = TCP_RST;
    const RA: u8 = TCP_RST | TCP_ACK;

    /// A full conversation: handshake, 100 bytes each way, FIN both sides.
    #[test]
    fn normal_close_is_sf_with_zeek_history() {
        let mut c = TcpConn::default();
        c.segment(true, 1000, 0, S, 1000, 0);
        c.segment(false, 5000, 1001, SA, 1000, 0);
        c.segment(true, 1001, 5001, A, 1000, 0);
        c.segment(true, 1001, 5001, PA, 1000, 100);
        c.segment(false, 5001, 1101, PA, 1000, 100);
        c.segment(true, 1101, 5101, FA, 1000, 0);
        c.segment(false, 5101, 1102, FA, 1000, 0);
        c.segment(true, 1102, 5102, A, 1000, 0);
        assert_eq!(c.history.letters, "ShADdFf");
        assert_eq!(c.conn_state(), ConnState::SF);
        assert_eq!(c.orig_bytes(), 100);
        assert_eq!(c.resp_bytes(), 100);
    }

    #[test]
    fn unanswered_syn_is_s0() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(true, 7, 0, S, 1000, 0);
        assert_eq!(c.history.letters, "S");
        assert_eq!(c.conn_state(), ConnState::S0);
        assert!(c.is_attempt());
        assert_eq!(c.orig_bytes(), 0);
    }

    #[test]
    fn rejected_syn_is_rej() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(false, 0, 8, RA, 0, 0);
        assert_eq!(c.history.letters, "Sr");
        assert_eq!(c.conn_state(), ConnState::REJ);
    }

    #[test]
    fn handshake_only_is_s1() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(false, 90, 8, SA, 1000, 0);
        c.segment(true, 8, 91, A, 1000, 0);
        assert_eq!(c.conn_state(), ConnState::S1);
        assert_eq!(c.history.letters, "ShA");
    }

    #[test]
    fn originator_reset_after_data_is_rsto() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(false, 90, 8, SA, 1000, 0);
        c.segment(true, 8, 91, PA, 1000, 10);
        c.segment(true, 18, 91, R, 0, 0);
        assert_eq!(c.conn_state(), ConnState::RSTO);
        assert_eq!(c.history.letters, "ShDR");
        assert_eq!(c.orig_bytes(), 10);
    }

    #[test]
    fn syn_then_rst_unanswered_is_rstos0() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(true, 8, 0, R, 0, 0);
        assert_eq!(c.conn_state(), ConnState::RSTOS0);
    }

    #[test]
    fn midstream_both_sides_is_oth_and_counts_bytes() {
        let mut c = TcpConn::default();
        c.segment(true, 1_000_000, 2_000_000, PA, 1000, 50);
        c.segment(false, 2_000_000, 1_000_050, PA, 1000, 70);
        c.segment(true, 1_000_050, 2_000_070, A, 1000, 0);
        assert_eq!(c.conn_state(), ConnState::OTH);
        assert_eq!(c.orig_bytes(), 50);
        assert_eq!(c.resp_bytes(), 70);
        assert_eq!(c.history.letters, "DdA");
    }

    #[test]
    fn retransmission_is_counted_once_and_logarithmically() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(false, 90, 8, SA, 1000, 0);
        c.segment(true, 8, 91, PA, 1000, 10);
        for _ in 0..10 {
            c.segment(true, 8, 91, PA, 1000, 10);
        }
        assert_eq!(c.history.letters, "ShDTT");
        assert_eq!(c.orig_bytes(), 10);
    }

    #[test]
    fn sequence_wrap_keeps_counting() {
        let mut c = TcpConn::default();
        let isn = u32::MAX - 10;
        c.segment(true, isn, 0, S, 1000, 0);
        c.segment(false, 1, isn.wrapping_add(1), SA, 1000, 0);
        c.segment(true, isn.wrapping_add(1), 2, PA, 1000, 1000);
        c.segment(true, isn.wrapping_add(1001), 2, PA, 1000, 1000);
        assert_eq!(c.orig_bytes(), 2000);
    }

    #[test]
    fn bytes_acknowledged_but_not_captured_count() {
        let mut c = TcpConn::default();
        c.segment(true, 7, 0, S, 1000, 0);
        c.segment(false, 90, 8, SA, 1000, 0);
        c.segment(true, 8, 91, A, 1000, 0);
        // The responder acknowledges 500 bytes the capture never saw.
        c.segment(false, 91, 508, A, 1000, 0);
        assert_eq!(c.orig_bytes(), 500);
    }

    #[test]
    fn rstos0_pattern() {
        assert!(rst_os0_history("SR"));
        assert!(rst_os0_history("^SdR"));
        assert!(rst_os0_history("ShR"));
        assert!(!rst_os0_history("SAR"));
        assert!(!rst_os0_history("R"));
    }
}
