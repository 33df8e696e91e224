//! Tests of the beacon components against RITA v5's own test vectors and a hand-computed
//! series, and of the detector on generated bundles.

use super::*;
use crate::detect::testkit::{background, Bundle, SEC, T0};
use crate::detect::Severity;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn cfg() -> Config {
    Config::default()
}

#[test]
fn config_default_matches_the_thresholds_file() {
    let t = Thresholds::defaults();
    assert_eq!(t.try_section::<Config>("beacon").unwrap(), Config::default());
    assert!(Beacon.validate(&t).is_ok());
    let bad = Thresholds::overlay("[beacon]\ntimestamp_weight = 0.5\n", "t.toml");
    assert!(bad.is_err(), "weights summing to 1.25 are refused");
}

// RITA v5's test vectors (analysis/beacons_test.go), with the values RITA's tests expect.

#[test]
fn rita_timestamp_vectors() {
    let r = timestamp_score(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10.0).unwrap();
    assert_eq!((r.score, r.skew, r.mad), (1.0, 0.0, 0.0));
    // Intervals 98, 99, 99, 100, 100, 100, 101, 101, 102: spread 2 < 10 → skew 0; MAD 1.
    let t = [
        1517338924, 1517339022, 1517339121, 1517339220, 1517339320, 1517339420, 1517339520, 1517339621, 1517339722,
        1517339824,
    ];
    let r = timestamp_score(&t, 10.0).unwrap();
    assert_eq!((r.score, r.skew, r.mad), (0.995, 0.0, 1.0));
    // Bimodal 98/300: quartiles 98, 199, 300 → skew 0; MAD 101 → 1 − 101/199.
    let t = [
        1517338924, 1517339022, 1517339322, 1517339420, 1517339720, 1517339818, 1517340118, 1517340216, 1517340516,
        1517340614, 1517340914,
    ];
    let r = timestamp_score(&t, 10.0).unwrap();
    assert_eq!((r.score, r.skew, r.mad), (0.746, 0.0, 101.0));
    // Random: quartiles 13.5, 90, 1000 → skew 0.845; MAD 89.
    let t = [
        1517338924, 1517338925, 1517339224, 1517339249, 1517344224, 1517344314, 1517344316, 1517344358, 1517344858,
        1517346358,
    ];
    let r = timestamp_score(&t, 10.0).unwrap();
    assert!(close(r.skew, 0.845, 0.001) && r.mad == 89.0 && r.score == 0.083, "{r:?}");
    // Fewer than three non-zero intervals, or fewer than four times: no score.
    assert_eq!(timestamp_score(&[60; 9], 10.0), None);
    assert_eq!(timestamp_score(&[1517338924, 1517338925], 10.0), None);
}

#[test]
fn rita_size_vectors() {
    let xs: Vec<f64> = (1..=10).map(f64::from).collect();
    let r = size_score(&xs, 10.0).unwrap();
    assert_eq!((r.score, r.skew, r.mad), (0.773, 0.0, 2.5));
    assert_eq!(size_score(&[60.0; 9], 10.0).unwrap().score, 1.0);
    let r = size_score(&[98.0, 99.0, 99.0, 100.0, 100.0, 100.0, 101.0, 101.0, 102.0], 10.0).unwrap();
    assert_eq!(r.score, 0.995);
    let r = size_score(&[524885.0, 1.0, 5000.0, 98654.0, 50.0, 41.0, 965842.0, 3.0], 10.0).unwrap();
    assert!(close(r.skew, 0.984, 0.001) && r.mad == 2523.0 && r.score == 0.008, "{r:?}");
    // A median under one byte: MAD score 0 for sizes.
    assert_eq!(size_score(&[0.0; 10], 10.0).unwrap().score, 0.5);
    assert_eq!(size_score(&[100.0, 200.0], 10.0), None);
    // The statistical score's other RITA cases: Q1 = Q2 and Q2 = Q3 leave the skew at 0.
    assert_eq!(regularity(&[7.0, 8.0, 7.0, 8.0, 7.0, 8.0, 7.0, 8.0, 7.0], 10.0, 1.0).unwrap().score, 1.0);
    assert_eq!(regularity(&[1.0, 1.0, 2.0, 2.0, 2.0, 2.0], 10.0, 1.0).unwrap().score, 1.0);
    let neg: Vec<f64> = (1..=10).map(|i| -f64::from(i)).collect();
    assert_eq!(regularity(&neg, 10.0, 0.0).unwrap().score, 0.5);
}

#[test]
fn rita_histogram_vectors() {
    let d = 1517338924;
    let hourly: Vec<i64> = (0..24).map(|h| d + h * 3600).collect();
    let h = histogram_score(d, d + 86_400, &hourly, 24, 0.05, 1, 11).unwrap();
    assert_eq!((h.bars, h.longest_run, h.score), (24, 24, 1.0));
    assert!(h.counts.iter().all(|&c| c == 1));

    let h = histogram_score(98, 102, &[98, 99, 99, 100, 100, 100, 101, 101, 102], 8, 0.05, 1, 6).unwrap();
    assert_eq!(h.counts, vec![1, 0, 2, 0, 3, 0, 2, 1]);
    assert_eq!((h.bars, h.longest_run, h.score), (5, 3, 0.064));

    let random = [524885, 1, 5000, 98654, 50, 41, 965842, 3, 12001, 200400, 104001, 199999];
    let h = histogram_score(0, 1_000_000, &random, 10, 0.05, 1, 6).unwrap();
    assert_eq!(h.counts, vec![7, 2, 1, 0, 0, 1, 0, 0, 0, 1]);
    assert_eq!((h.bars, h.longest_run, h.score), (5, 4, 0.0));

    let bimodal = [1, 2, 3, 4, 15, 21, 22, 23, 24, 35, 41, 42, 43, 44, 55, 61, 62, 63, 64, 75, 81, 82, 83, 84, 95];
    let h = histogram_score(0, 100, &bimodal, 10, 0.05, 1, 6).unwrap();
    assert_eq!(h.counts, vec![4, 1, 4, 1, 4, 1, 4, 1, 4, 1]);
    assert_eq!((h.cv_score, h.bimodal_score, h.score), (0.4, 1.0, 1.0));

    let h = histogram_score(0, 250, &[10, 20, 100, 110, 110, 220], 5, 0.05, 1, 6).unwrap();
    assert_eq!(h.counts, vec![2, 0, 3, 0, 1]);
    assert_eq!((h.bars, h.longest_run, h.score), (3, 2, 0.028));

    let burst: Vec<i64> = (0..10).map(|k| d + 60 * k).collect();
    let h = histogram_score(d, d + 86_400, &burst, 24, 0.05, 1, 11).unwrap();
    assert_eq!((h.bars, h.longest_run, h.score), (1, 1, 0.0));
    assert_eq!(
        histogram_score(d, d + 86_400, &burst, 24, 0.05, 1, 1).unwrap().score,
        0.0,
        "no bimodal fit below 6 bars"
    );
    assert_eq!(histogram_score(1, 1, &[1; 10], 24, 0.05, 1, 11), None);
}

#[test]
fn rita_duration_vectors() {
    let d = 1517338924;
    let day = (d, d + 86_400);
    let h = 3600;
    let score = |first: i64, last: i64, bars, run| duration_score(day, (d + first * h, d + last * h), bars, run, 6, 12);
    assert_eq!(score(0, 24, 24, 24), Duration { coverage: 1.0, consistency: 1.0, score: 1.0 });
    assert_eq!(score(0, 24, 6, 0), Duration { coverage: 1.0, consistency: 0.0, score: 1.0 });
    assert_eq!(score(12, 24, 6, 0).score, 0.5);
    assert_eq!(score(0, 12, 6, 0).score, 0.5);
    assert_eq!(score(6, 24, 6, 0).score, 0.75);
    assert_eq!(score(12, 24, 12, 12), Duration { coverage: 0.5, consistency: 1.0, score: 1.0 });
    assert_eq!(score(12, 18, 6, 6), Duration { coverage: 0.25, consistency: 0.5, score: 0.5 });
    assert_eq!(score(6, 18, 12, 6).score, 0.5);
    assert_eq!(score(6, 18, 5, 5).score, 0.0, "fewer bars than the minimum");
}

#[test]
fn rita_weighted_score() {
    let c = cfg();
    assert_eq!(beacon_score(&c, 0.1, 0.2, 0.4, 0.3), 0.25);
    assert_eq!(beacon_score(&c, 1.0, 1.0, 1.0, 1.0), 1.0);
    let c = Config { timestamp_weight: 0.2, size_weight: 0.2, duration_weight: 0.3, histogram_weight: 0.3, ..cfg() };
    assert_eq!(beacon_score(&c, 0.8, 0.7, 0.5, 0.6), 0.63);
}

/// A day-long series worked out by hand from RITA's formulas; RITA (24 hourly bins over the
/// day) gives exactly these numbers.
///
/// Dataset: [D, D + 86 400]. Sixteen connections at `D + 5400 k + d(k mod 3)`, k = 0‥15,
/// d = (0, 60, 180) s.
///
/// - Intervals repeat (5460, 5520, 5220) five times. Sorted: 5220 ×5, 5460 ×5, 5520 ×5. Median
///   (8th of 15) 5460; Q1 = median of the lower seven = 5220; Q3 = median of the upper seven =
///   5520. Bowley skew = (5520 + 5220 − 2·5460) / (5520 − 5220) = −180/300 = −0.6 (spread 300
///   ≥ 10): skew score 0.4. Deviations from 5460: 0 ×5, 60 ×5, 240 ×5 → MAD 60; MAD score
///   (5460 − 60)/5460 = 0.98901. Timestamp = round3((0.4 + 0.98901)/2) = **0.695**.
/// - Sizes 100 ×4, 120 ×4, 150 ×4, 400 ×4: median (120 + 150)/2 = 135; Q1 = median of
///   100 ×4, 120 ×4 = 110; Q3 = median of 150 ×4, 400 ×4 = 275. Skew = (275 + 110 − 270)/165 =
///   0.69697: skew score 0.30303. Deviations 35 ×4, 15 ×8, 265 ×4 → MAD (15 + 35)/2 = 25; MAD
///   score 110/135 = 0.81481. Size = round3(0.55892) = **0.559**.
/// - Hourly bins: connection k falls in hour ⌊1.5 k⌋ (the offsets never cross an hour): hours
///   0, 1, 3, 4, 6, 7, … 21, 22 hold one each, hours 2, 5, … 23 none. Mean 16/24, standard
///   deviation √(2/9) = 0.4714, CV 0.7071: CV score round3(0.2929) = 0.293. Bars 16 ≥ 11, all
///   of height 1 (bin size ⌈1 × 0.05⌉ = 1): bimodal fit 16/(16 − 1) → 1. Histogram = **1.0**.
/// - First connection D, last D + 81 000: coverage ⌈1000 × 81 000/86 400⌉/1000 = 0.938. Longest
///   run of non-empty hours 2 (hour 23 is empty, so no wrap): consistency ⌈1000 × 2/12⌉/1000 =
///   0.167. Bars 16 ≥ 6: duration = **0.938**.
/// - Beacon = round3((0.695 + 0.559 + 1.0 + 0.938)/4) = round3(0.798) = **0.798**.
#[test]
fn hand_computed_day_long_series_matches_rita() {
    let d = 1_709_251_200;
    let offsets = [0, 60, 180];
    let times: Vec<i64> = (0..16).map(|k| d + 5400 * k + offsets[(k % 3) as usize]).collect();
    let sizes: Vec<f64> = [100.0, 120.0, 150.0, 400.0].iter().flat_map(|&s| [s; 4]).collect();
    let c = cfg();

    let ts = timestamp_score(&times, c.skew_min_spread).unwrap();
    assert!(close(ts.skew, -0.6, 1e-12) && ts.mad == 60.0 && ts.median == 5460.0, "{ts:?}");
    assert_eq!(ts.score, 0.695);
    let ds = size_score(&sizes, c.skew_min_spread).unwrap();
    assert!(close(ds.skew, 115.0 / 165.0, 1e-12) && ds.mad == 25.0 && ds.median == 135.0, "{ds:?}");
    assert_eq!(ds.score, 0.559);
    let hist = histogram_score(d, d + 86_400, &times, 24, 0.05, 1, 11).unwrap();
    assert_eq!(hist.counts, vec![1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0]);
    assert_eq!((hist.cv_score, hist.bimodal_score, hist.score, hist.longest_run), (0.293, 1.0, 1.0, 2));
    let dur = duration_score((d, d + 86_400), (d, d + 81_000), hist.bars, hist.longest_run, 6, 12);
    assert_eq!(dur, Duration { coverage: 0.938, consistency: 0.167, score: 0.938 });
    assert_eq!(beacon_score(&c, ts.score, ds.score, hist.score, dur.score), 0.798);
}

#[test]
fn on_time_share_by_hand() {
    // Intervals 100, 110, 50, 100, 250: median 100; within ±40 %: 100, 110, 100 → 3 of 5.
    assert_eq!(on_time_share(&[0, 100, 210, 260, 360, 610], 100.0, 0.4), 0.6);
    // Zero intervals (two connections in one second) do not count.
    assert_eq!(on_time_share(&[0, 0, 100, 200], 100.0, 0.4), 1.0);
    assert_eq!(on_time_share(&[5], 100.0, 0.4), 0.0);
}

#[test]
fn bins_follow_the_period() {
    let c = cfg();
    let hour = 3600.0;
    // Day-long captures with periods up to half an hour keep RITA's 24 hourly bins.
    assert_eq!(bin_count(24.0 * hour, 30.0, &c), 24);
    assert_eq!(bin_count(24.0 * hour, 1800.0, &c), 24);
    assert_eq!(bin_count(24.0 * hour, 1820.0, &c), 24);
    assert_eq!(bin_count(24.0 * hour, 1900.0, &c), 23);
    // Longer periods get bins of two periods.
    assert_eq!(bin_count(24.0 * hour, 3600.0, &c), 12);
    // A 3-hour capture: one-hour bins for a 30-minute beacon, as in a day-long capture.
    assert_eq!(bin_count(3.0 * hour, 1800.0, &c), 3);
    assert_eq!(bin_count(3.0 * hour, 30.0, &c), 24);
    assert_eq!(bin_count(600.0, 3600.0, &c), 1);
    assert_eq!(bin_count(5.0 * hour, 3600.0, &c), 3);
    // RITA's bar counts for 24 bins, scaled.
    assert_eq!(scaled(6, 24, 24), 6);
    assert_eq!(scaled(12, 3, 24), 2);
    assert_eq!(scaled(6, 3, 24), 1);
}

/// A small deterministic generator for the tests (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Check-in times (whole seconds from 0) every `period` ± `jitter` share, from `start` to `end`.
fn jittered(rng: &mut Rng, start: f64, end: f64, period: f64, jitter: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut t = start;
    while t < end {
        out.push(t);
        t += period * (1.0 + jitter * (2.0 * rng.unit() - 1.0));
    }
    out
}

#[test]
fn a_short_capture_scores_like_a_day_long_one() {
    let c = cfg();
    let mut scores = Vec::new();
    for hours in [3.0, 24.0] {
        let mut rng = Rng::new(7);
        let end = hours * 3600.0;
        let times: Vec<i64> = jittered(&mut rng, 0.0, end, 1700.0, 0.2).iter().map(|&t| t as i64).collect();
        let sizes = vec![520.0; times.len()];
        let window = Window { first: 0, last: end as i64 };
        let s = series_score(&times, &sizes, &window, &c).unwrap();
        // RITA's fixed 24 bins over the same capture, for comparison.
        let rita = histogram_score(0, end as i64, &times, 24, 0.05, 1, 11).unwrap();
        scores.push((s.histogram.score, s.duration.score, s.beacon, rita.score, s.bins, s.period));
    }
    let (short, day) = (scores[0], scores[1]);
    assert!(short.2 >= 0.85 && day.2 >= 0.85, "{scores:?}");
    assert!(short.0 >= 0.75 && close(short.2, day.2, 0.1), "{scores:?}");
    assert_eq!(day.0, day.3, "the day-long capture uses RITA hourly bins: {scores:?}");
    assert!(short.3 < 0.3, "RITA's 7.5-minute bins would call the short one irregular: {scores:?}");
}

// The detector on bundles made in code.

/// A check-in from `host` to `peer` every `period` s ± `jitter`, from `start` to `end`, sending
/// about 420 bytes; returns the flow indices.
fn beacon(
    b: &mut Bundle,
    rng: &mut Rng,
    host: &str,
    peer: &str,
    (start, end): (f64, f64),
    period: f64,
    jitter: f64,
) -> Vec<usize> {
    jittered(rng, start, end, period, jitter)
        .into_iter()
        .map(|t| b.tcp(host, peer, 443, t, 0.3, 380 + (rng.unit() * 40.0) as u64, 120))
        .collect()
}

#[test]
fn a_jittered_beacon_to_a_rare_address_is_found() {
    let mut b = Bundle::default();
    background(&mut b, 10);
    let mut rng = Rng::new(1);
    // 10.0.0.1 → 45.77.8.39:443 every 212 s ± 15 % for 3 h, starting 30 min in.
    beacon(&mut b, &mut rng, "10.0.0.1", "45.77.8.39", (1800.0, 12_600.0), 212.0, 0.15);
    let found = b.run(&Beacon);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.host.ip, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(f.peer.ip, Some("45.77.8.39".parse().unwrap()));
    assert_eq!((f.peer.port, f.peer.domain.as_deref()), (Some(443), None));
    assert!(f.severity >= Severity::High, "{f:#?}");
    assert!(close(f.components["period_s"], 212.0, 15.0), "{:?}", f.components);
    for k in ["timestamp", "size", "histogram", "duration", "beacon", "rarity", "prevalence", "novelty", "connections"]
    {
        assert!(f.components.contains_key(k), "no {k}");
    }
    assert_eq!(f.components["novelty"], 1.0, "first seen 30 min into a 3.5 h bundle");
    assert_eq!(f.technique, "T1071.001");
    assert!(f.summary.starts_with("10.0.0.1 → 45.77.8.39:443 every 2"), "{}", f.summary);
}

#[test]
fn near_misses_are_not_beacons() {
    let mut b = Bundle::default();
    background(&mut b, 10);
    let mut rng = Rng::new(2);
    // Three perfectly regular connections: too few.
    for k in 0..3 {
        b.tcp("10.0.0.2", "198.51.100.20", 443, 600.0 * f64::from(k), 0.3, 400, 100);
    }
    // A person reading a rare site for 6 h: visits at exponential intervals (mean 20 min),
    // pages of varied size.
    let mut t = 0.0;
    while t < 6.0 * 3600.0 {
        b.tcp("10.0.0.3", "198.51.100.30", 443, t, 2.0, 300 + (rng.unit() * 3000.0) as u64, 40_000);
        t += -1200.0 * (1.0 - rng.unit()).ln();
    }
    let found = b.run(&Beacon);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_periodic_service_every_host_uses_stays_low() {
    // The service's Host header with and without a port: `name:8080` is the name, and that
    // name is popular although no other traffic names it.
    for (port, host_header) in [(80, "update.googleapis.com"), (8080, "telemetry.vendor-cdn.example:8080")] {
        a_periodic_service_stays_low(port, host_header);
    }
}

fn a_periodic_service_stays_low(port: u16, host_header: &str) {
    let mut b = Bundle::default();
    background(&mut b, 10);
    let mut rng = Rng::new(3);
    // Every host checks 162.159.200.1:123 every 1024 s for 6 h, and an update service every 15 min.
    for h in 0..10 {
        let host = format!("10.0.0.{}", 100 + h);
        let offset = rng.range(0.0, 1024.0);
        for t in jittered(&mut rng, offset, 6.0 * 3600.0, 1024.0, 0.0) {
            b.udp(&host, "162.159.200.1", 123, t, 0.02, 48, 48);
        }
        for t in jittered(&mut rng, offset, 6.0 * 3600.0, 900.0, 0.01) {
            let f = b.tcp(&host, "142.250.74.3", port, t, 0.1, 300, 400);
            b.http(f, "GET", host_header, "/service/update2/json");
        }
    }
    assert!(b.run(&Beacon).is_empty(), "not even reported");
    let all = Thresholds::overlay("[beacon]\nmin_score = 0.0\n", "test").unwrap();
    let found = b.run_with(&Beacon, &all);
    assert!(found.len() >= 20, "{}", found.len());
    for f in &found {
        assert!(f.score < 0.3, "{f:#?}");
        assert!(f.components["beacon"] > 0.8, "regular, but popular: {:?}", f.components);
    }
}

/// Three internal hosts, each with a site of its own; the first also keeps time with
/// 162.159.200.1:123 every 1024 s for 6 h, its datagrams recognised as NTP when `ntp`.
fn one_host_keeps_time(ntp: bool) -> Vec<Finding> {
    let mut b = Bundle::default();
    let mut rng = Rng::new(4);
    for (host, site) in [("10.0.0.1", "198.51.100.1"), ("10.0.0.2", "198.51.100.2"), ("10.0.0.3", "198.51.100.3")] {
        let mut t = rng.range(0.0, 600.0);
        while t < 6.0 * 3600.0 {
            b.tcp(host, site, 443, t, 2.0, 300 + (rng.unit() * 3000.0) as u64, 40_000);
            t += -1200.0 * (1.0 - rng.unit()).ln();
        }
    }
    for t in jittered(&mut rng, 100.0, 6.0 * 3600.0, 1024.0, 0.0) {
        let f = b.udp("10.0.0.1", "162.159.200.1", 123, t, 0.02, 48, 48);
        if ntp {
            b.service(f, Service::Ntp);
        }
    }
    b.run(&Beacon)
}

#[test]
fn time_keeping_is_no_beacon_however_few_the_hosts() {
    // One host in three uses the time server: as rare as a C2 by prevalence.
    assert!(one_host_keeps_time(true).is_empty(), "{:#?}", one_host_keeps_time(true));
    // The same timing on port 123 with content that is not NTP is judged, and found.
    let found = one_host_keeps_time(false);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].peer.port, Some(123));
    assert!(found[0].severity >= Severity::Medium, "{found:#?}");
}

#[test]
fn a_beacon_over_changing_addresses_is_one_finding_under_its_name() {
    let mut b = Bundle::default();
    background(&mut b, 10);
    let mut rng = Rng::new(4);
    // 10.0.0.1 → cdn-sync.example.net every 60 s ± 10 % for 2 h, over four CDN addresses.
    let addresses = ["203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13"];
    for (k, t) in jittered(&mut rng, 600.0, 7800.0, 60.0, 0.1).into_iter().enumerate() {
        let f = b.tcp("10.0.0.1", addresses[k % 4], 443, t, 0.3, 500, 300);
        b.tls(f, "cdn-sync.example.net");
    }
    let found = b.run(&Beacon);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.peer.domain.as_deref(), Some("cdn-sync.example.net"));
    assert_eq!(f.peer.ip, Some("203.0.113.10".parse().unwrap()), "the most used address (ties to the lowest)");
    assert!(f.severity >= Severity::High, "{f:#?}");
    assert!(f.summary.contains("cdn-sync.example.net (203.0.113.10:443)"), "{}", f.summary);
}

#[test]
fn a_strobe_is_reported_as_one() {
    let mut b = Bundle::default();
    background(&mut b, 10);
    // 10.0.0.1 → 198.51.100.50:8080 every half second for an hour: 7200 connections.
    for k in 0..7200 {
        b.tcp("10.0.0.1", "198.51.100.50", 8080, 0.5 * f64::from(k), 0.1, 200, 100);
    }
    let found = b.run(&Beacon);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.components.get("strobe"), Some(&1.0));
    assert!(!f.components.contains_key("timestamp"), "not scored as a beacon");
    assert!(f.summary.contains("strobe, 7200 connections"), "{}", f.summary);
    assert!(f.severity >= Severity::Medium, "{f:#?}");
}

#[test]
fn findings_are_deterministic() {
    let make = || {
        let mut b = Bundle::default();
        background(&mut b, 6);
        let mut rng = Rng::new(5);
        beacon(&mut b, &mut rng, "10.0.0.1", "45.77.8.39", (0.0, 7200.0), 45.0, 0.3);
        beacon(&mut b, &mut rng, "10.0.0.2", "45.77.8.40", (0.0, 7200.0), 300.0, 0.1);
        serde_json::to_string(&b.run(&Beacon)).unwrap()
    };
    assert_eq!(make(), make());
}

/// Background for the randomised bundles: `hosts` workstations browsing popular sites at human
/// intervals, each also reading a site of its own now and then, all using NTP every 1024 s, an
/// update check every 15 minutes and a chat keep-alive every 60 s.
fn noisy_background(b: &mut Bundle, rng: &mut Rng, hosts: u8, end: f64) {
    const POPULAR: [(&str, &str); 5] = [
        ("23.45.100.10", "www.microsoft.com"),
        ("142.250.74.3", "update.googleapis.com"),
        ("52.97.150.2", "outlook.office365.com"),
        ("151.101.1.229", "cdn.jsdelivr.net"),
        ("140.82.121.4", "github.com"),
    ];
    for h in 0..hosts {
        let host = format!("10.0.0.{}", 100 + u16::from(h));
        let mut t = rng.range(0.0, 300.0);
        while t < end {
            let (ip, name) = POPULAR[(rng.unit() * POPULAR.len() as f64) as usize % POPULAR.len()];
            let f = b.tcp(&host, ip, 443, t, rng.range(0.5, 30.0), rng.range(300.0, 2000.0) as u64, 9000);
            b.tls(f, name);
            t += rng.range(20.0, 600.0);
        }
        let own = format!("198.18.{}.{}", h, 1 + h);
        let mut t = rng.range(0.0, 3600.0);
        while t < end {
            let f = b.tcp(&host, &own, 443, t, rng.range(1.0, 20.0), rng.range(300.0, 5000.0) as u64, 30_000);
            b.tls(f, &format!("blog-{h}.example.org"));
            t += -1800.0 * (1.0 - rng.unit()).ln();
        }
        let offset = rng.range(0.0, 1024.0);
        for t in jittered(rng, offset, end, 1024.0, 0.0) {
            b.udp(&host, "162.159.200.1", 123, t, 0.02, 48, 48);
        }
        let offset = rng.range(0.0, 900.0);
        for t in jittered(rng, offset, end, 900.0, 0.01) {
            let f = b.tcp(&host, "142.250.74.3", 80, t, 0.1, 300, 400);
            b.http(f, "GET", "update.googleapis.com", "/service/update2/json");
        }
        let offset = rng.range(0.0, 60.0);
        for t in jittered(rng, offset, end, 60.0, 0.05) {
            b.tcp(&host, "34.196.12.8", 443, t, 0.2, 90, 90);
        }
    }
}

/// Randomised bundles: captures of 2–24 h, beacons with periods of 30 s – 1 h (short enough
/// that at least eight check-ins fit in the capture) and jitter 0–30 %, one by address and
/// one by name over changing addresses, over noisy background hosts. Every beacon is found on
/// its host and peer, at medium or above once it has twelve check-ins (with fewer, the support
/// keeps it lower: a handful of visits at random times can look as regular); nothing on a
/// background host reaches medium.
#[test]
fn randomised_bundles() {
    let mut worst_found = f64::MAX;
    let mut worst_benign: f64 = 0.0;
    for seed in 1..=64u64 {
        let mut rng = Rng::new(seed);
        let hours = rng.range(2.0, 24.0);
        let end = hours * 3600.0;
        let mut b = Bundle::default();
        noisy_background(&mut b, &mut rng, 8 + (seed % 5) as u8, end);
        let mut injected = Vec::new();
        for (host, peer, named) in [("10.0.0.1", "45.77.20.9", false), ("10.0.0.2", "185.220.7.7", true)] {
            let start = rng.range(0.0, end / 6.0);
            let period = rng.range(30.0, 3600.0_f64.min((end - start) / 8.0));
            let jitter = rng.range(0.0, 0.3);
            let flows = beacon(&mut b, &mut rng, host, peer, (start, end), period, jitter);
            if named {
                let last_octet = |k: usize| format!("185.220.7.{}", 7 + k % 3);
                for (k, &f) in flows.iter().enumerate() {
                    b.flows[f].resp_ip = last_octet(k).parse().unwrap();
                    b.tls(f, "sync.cdn-edge.example");
                }
            }
            injected.push((host, peer, named, period, jitter, flows.len()));
        }
        let found = b.run(&Beacon);
        for &(host, peer, named, period, jitter, checkins) in &injected {
            let hit = found.iter().find(|f| {
                f.host.ip == host.parse().ok()
                    && if named {
                        f.peer.domain.as_deref() == Some("sync.cdn-edge.example")
                    } else {
                        f.peer.ip == peer.parse().ok()
                    }
            });
            let Some(f) = hit else {
                let open = "[beacon]\nmin_score = 0.0\nmin_beacon_score = 0.0\nmax_interval_dispersion = 9.0\n";
                let all = b.run_with(&Beacon, &Thresholds::overlay(open, "test").unwrap());
                let mine: Vec<_> = all
                    .iter()
                    .filter(|f| f.host.ip == host.parse().ok())
                    .map(|f| (&f.summary, &f.components))
                    .collect();
                panic!("seed {seed}: {hours:.1} h, beacon {host} → {peer} every {period:.0} s ± {jitter:.2} not found: {mine:#?}");
            };
            assert!(
                f.score >= 0.5 || checkins < 12,
                "seed {seed}: {hours:.1} h, {host} every {period:.0} s ± {jitter:.2}: {} {:?}",
                f.score,
                f.components
            );
            if checkins >= 12 {
                worst_found = worst_found.min(f.score);
            }
        }
        for f in found
            .iter()
            .filter(|f| !matches!(f.host.ip.map(|i| i.to_string()).as_deref(), Some("10.0.0.1" | "10.0.0.2")))
        {
            assert!(f.score < 0.5, "seed {seed}: benign {} scored {}: {f:#?}", f.summary, f.score);
            worst_benign = worst_benign.max(f.score);
        }
    }
    eprintln!("lowest beacon score {worst_found:.3}, highest background score {worst_benign:.3}");
}

#[test]
fn times_outside_the_window_fall_into_the_edge_bins() {
    let h = histogram_score(100, 200, &[50, 150, 250], 2, 0.05, 1, 11).unwrap();
    assert_eq!(h.counts, vec![1, 2]);
    assert_eq!(T0 % SEC, 0);
}
