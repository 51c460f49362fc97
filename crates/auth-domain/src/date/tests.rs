use proptest::prelude::*;
use time::macros::{datetime, format_description};

use super::*;

/// The same instant formatted by the `time` crate's format machinery.
fn reference(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.to_offset(UtcOffset::UTC)
        .format(&format)
        .expect("formattable")
}

#[test]
fn writes_what_javascript_writes_for_known_instants() {
    assert_eq!(
        to_json(datetime!(2026-01-02 03:04:05.006 UTC)),
        "2026-01-02T03:04:05.006Z"
    );
    assert_eq!(
        to_json(datetime!(1970-01-01 0:00 UTC)),
        "1970-01-01T00:00:00.000Z"
    );
    // Sub-millisecond digits are cut, not rounded (as `Date` keeps only milliseconds).
    assert_eq!(
        to_json(datetime!(2026-12-31 23:59:59.999_999 UTC)),
        "2026-12-31T23:59:59.999Z"
    );
}

#[test]
fn other_offsets_are_written_in_utc() {
    assert_eq!(
        to_json(datetime!(2026-01-01 01:30 +02:00)),
        "2025-12-31T23:30:00.000Z"
    );
}

#[test]
fn years_before_zero_take_the_expanded_form() {
    assert_eq!(
        to_json(datetime!(0000-01-01 0:00 UTC)),
        "0000-01-01T00:00:00.000Z"
    );
    assert_eq!(
        to_json(datetime!(-0001-12-31 0:00 UTC)),
        "-000001-12-31T00:00:00.000Z"
    );
}

#[test]
fn push_json_appends_to_what_the_body_holds() {
    let mut body = "\"at\":\"".to_owned();
    push_json(datetime!(2026-01-02 03:04:05.006 +01:00), &mut body);
    assert_eq!(body, "\"at\":\"2026-01-02T02:04:05.006Z");
}

proptest! {
    #[test]
    fn agrees_with_the_time_crate_for_any_instant_of_years_0_to_9999(
        seconds in -62_167_219_200i64..253_402_300_799i64,
        nanos in 0u32..1_000_000_000,
    ) {
        let at = OffsetDateTime::from_unix_timestamp(seconds).expect("in range")
            + time::Duration::nanoseconds(i64::from(nanos));
        prop_assume!((0..=9999).contains(&at.year()));
        prop_assert_eq!(to_json(at), reference(at));
    }
}
