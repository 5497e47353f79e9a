//! Hand-written JSON output for the one loop where serde's per-value cost
//! shows: the fields of a node listing that change with every heartbeat
//! (metrics, timestamps). Each writer produces exactly the bytes
//! `serde_json` would, which the tests below check value by value.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::ser::{CompactFormatter, Formatter};

/// Appends `"key":` (the key must need no escaping).
pub(super) fn key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

pub(super) fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

// Numbers go through serde_json's own formatter (no serializer around it),
// so they cannot differ from what it writes elsewhere. Writing into a Vec
// cannot fail.

pub(super) fn uint(out: &mut Vec<u8>, v: u32) {
    let _ = CompactFormatter.write_u32(out, v);
}

pub(super) fn int(out: &mut Vec<u8>, v: i64) {
    let _ = CompactFormatter.write_i64(out, v);
}

/// An `f32`; `null` when not finite, as serde_json does.
pub(super) fn float(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let _ = CompactFormatter.write_f32(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// `null` for `None`, else what `write` writes.
pub(super) fn opt<T: Copy>(out: &mut Vec<u8>, v: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        Some(v) => write(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// A UTC time as chrono's serde form: `2026-11-24T01:02:03.456Z`, with 0, 3,
/// 6 or 9 fraction digits (as few as show the value exactly) and a leap
/// second as `:60`.
pub(super) fn time(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Signed, wider years: rare enough to leave to chrono.
        serde_json::to_writer(&mut *out, t).expect("a time serializes");
        return;
    }
    let mut nano = t.nanosecond();
    let mut sec = t.second();
    if nano >= 1_000_000_000 {
        sec += 1;
        nano -= 1_000_000_000;
    }
    let mut buf = [0u8; 32];
    buf[0] = b'"';
    digits(&mut buf[1..5], year as u32);
    buf[5] = b'-';
    digits(&mut buf[6..8], t.month());
    buf[8] = b'-';
    digits(&mut buf[9..11], t.day());
    buf[11] = b'T';
    digits(&mut buf[12..14], t.hour());
    buf[14] = b':';
    digits(&mut buf[15..17], t.minute());
    buf[17] = b':';
    digits(&mut buf[18..20], sec);
    let mut len = 20;
    let (frac, width) = if nano == 0 {
        (0, 0)
    } else if nano % 1_000_000 == 0 {
        (nano / 1_000_000, 3)
    } else if nano % 1_000 == 0 {
        (nano / 1_000, 6)
    } else {
        (nano, 9)
    };
    if width > 0 {
        buf[len] = b'.';
        digits(&mut buf[len + 1..len + 1 + width], frac);
        len += 1 + width;
    }
    buf[len] = b'Z';
    buf[len + 1] = b'"';
    out.extend_from_slice(&buf[..len + 2]);
}

/// Writes `v` as decimal digits filling `slot`, zero-padded on the left.
fn digits(slot: &mut [u8], mut v: u32) {
    for b in slot.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn times_are_written_as_serde_writes_them() {
        let base = Utc.with_ymd_and_hms(2026, 11, 24, 1, 2, 3).unwrap();
        let mut cases = vec![
            base,
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            Utc::now(),
        ];
        for nanos in [1, 10, 1_000, 120_000, 1_000_000, 500_000_000, 999_999_999] {
            cases.push(base + chrono::Duration::nanoseconds(nanos));
        }
        // A leap second: nanoseconds past 1e9 on second 59.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        cases.push(leap);
        // A spread of instants over the years, with odd fractions.
        let mut t = Utc.with_ymd_and_hms(1999, 2, 28, 12, 0, 0).unwrap();
        for i in 0..2_000i64 {
            t += chrono::Duration::nanoseconds(86_399_123_456_789 + i * 7_919);
            cases.push(t);
        }
        for t in cases {
            assert_eq!(
                written(|o| time(o, &t)),
                serde_json::to_string(&t).unwrap(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn numbers_are_written_as_serde_writes_them() {
        for v in [
            0.0f32,
            -0.0,
            0.1,
            12.5,
            99.99,
            1e-7,
            3.4e38,
            f32::NAN,
            f32::INFINITY,
        ] {
            assert_eq!(written(|o| float(o, v)), serde_json::to_string(&v).unwrap());
        }
        for v in [0u32, 7, 4_294_967_295] {
            assert_eq!(written(|o| uint(o, v)), v.to_string());
        }
        assert_eq!(written(|o| int(o, -42)), "-42");
        assert_eq!(written(|o| opt(o, None::<u32>, uint)), "null");
        assert_eq!(written(|o| bool(o, true)), "true");
        assert_eq!(written(|o| key(o, "cpu_usage")), "\"cpu_usage\":");
    }
}
