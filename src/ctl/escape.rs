//! Text from the daemon made safe to print on a terminal.
//!
//! Node names, notes, models and error messages come from the network: a
//! machine that registers with `ESC [32m` in a field could recolour or rewrite
//! the administrator's screen (paint a pending node green, hide a line), and
//! a bidi override could reorder what is shown. Everything `llmlbctl` prints
//! for people passes through here; `-o json` prints the daemon's bytes as they
//! are, where JSON's own escaping applies.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal as is (see
/// [`crate::api::is_unsafe_char`]).
pub(crate) use crate::api::is_unsafe_char as is_unsafe;

/// `s` with every unsafe character written out: ESC as `\e`, newline, tab
/// and carriage return as `\n`, `\t`, `\r`, the other C0 controls and DEL
/// as `\xNN`, the rest as `\u{NNNN}`.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    escape_keeping(s, &[])
}

/// As [`escape`], but newlines and tabs stay: for free text an administrator
/// wrote on several lines (a node's notes), shown on its own rows.
pub(crate) fn escape_text(s: &str) -> Cow<'_, str> {
    escape_keeping(s, &['\n', '\t'])
}

fn escape_keeping<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    let bad = |c: char| is_unsafe(c) && !keep.contains(&c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !bad(c) {
            out.push(c);
        } else if let Some(short) = short_escape(c) {
            out.push_str(short);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn short_escape(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{1b}' => "\\e",
        '\n' => "\\n",
        '\t' => "\\t",
        '\r' => "\\r",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_written_out() {
        assert_eq!(escape("\u{1b}[32monline\u{1b}[0m"), "\\e[32monline\\e[0m");
        assert_eq!(escape("bell\u{7}\u{0}\u{7f}"), "bell\\x07\\x00\\x7f");
        assert_eq!(escape("csi\u{9b}2J"), "csi\\u{9b}2J");
        assert_eq!(escape("a\u{85}b"), "a\\u{85}b");
        assert_eq!(
            escape("\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}"),
            "\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}"
        );
        assert_eq!(
            escape("\u{2066}x\u{2067}\u{2068}\u{2069}"),
            "\\u{2066}x\\u{2067}\\u{2068}\\u{2069}"
        );
        assert_eq!(escape("two\nlines\ttab\r"), "two\\nlines\\ttab\\r");
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        for s in [
            "gpu-07",
            "Rack 3 — 機械学習",
            "naïve \\e literal",
            "שלום",
            "",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s), "{s}");
        }
    }

    #[test]
    fn notes_keep_newlines_and_tabs_only() {
        assert_eq!(
            escape_text("first\n\tsecond\r\u{1b}[2K\u{9b}"),
            "first\n\tsecond\\r\\e[2K\\u{9b}"
        );
    }

    #[test]
    fn escaped_text_has_nothing_left_to_escape() {
        let all: String = (0u32..0x2100).filter_map(char::from_u32).collect();
        let once = escape(&all).into_owned();
        assert!(!once.chars().any(is_unsafe));
        assert_eq!(escape(&once), once);
    }
}
