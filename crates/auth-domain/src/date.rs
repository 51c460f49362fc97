//! Instants as JavaScript writes them: `Date.prototype.toJSON()`, the form every timestamp of
//! Better-Auth's wire format takes (`2026-01-01T00:00:00.000Z`).

use time::{OffsetDateTime, UtcOffset};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, as `Date.prototype.toJSON()` writes it. Years before 0
/// take JavaScript's expanded form (`-000001`); `time` keeps years within ±9999.
#[must_use]
pub fn to_json(at: OffsetDateTime) -> String {
    let mut out = String::with_capacity(27);
    push_json(at, &mut out);
    out
}

/// [`to_json`], appended to `out` (a body being written) instead of a string of its own.
pub fn push_json(at: OffsetDateTime, out: &mut String) {
    let at = at.to_offset(UtcOffset::UTC);
    let year = at.year();
    if year < 0 {
        out.push('-');
        push_digits(out, year.unsigned_abs(), 6);
    } else {
        push_digits(out, year.unsigned_abs(), 4);
    }
    out.push('-');
    push_digits(out, u32::from(u8::from(at.month())), 2);
    out.push('-');
    push_digits(out, u32::from(at.day()), 2);
    out.push('T');
    push_digits(out, u32::from(at.hour()), 2);
    out.push(':');
    push_digits(out, u32::from(at.minute()), 2);
    out.push(':');
    push_digits(out, u32::from(at.second()), 2);
    out.push('.');
    push_digits(out, u32::from(at.millisecond()), 3);
    out.push('Z');
}

/// The last `width` decimal digits of `value`, left-padded with zeros.
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width.saturating_sub(1));
    while divisor > 0 {
        let digit = (value / divisor) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        divisor /= 10;
    }
}

#[cfg(test)]
mod tests;
