//! The sliding-window log, in integer milliseconds: a key keeps the times of its allowed
//! requests inside the window; a request is allowed when fewer than `max` remain. Exact at every
//! instant: no two windows overlap to let a double burst through.

use std::collections::VecDeque;

/// Checks and records one request; `Err(retry_after_ms)` when refused (nothing recorded).
pub(crate) fn check(
    log: &mut VecDeque<i64>,
    now_ms: i64,
    window_ms: i64,
    max: u32,
) -> Result<(), i64> {
    peek(log, now_ms, window_ms, max)?;
    log.push_back(now_ms);
    Ok(())
}

/// What [`check`] would answer, recording nothing (times that left the window are dropped).
pub(crate) fn peek(
    log: &mut VecDeque<i64>,
    now_ms: i64,
    window_ms: i64,
    max: u32,
) -> Result<(), i64> {
    while log
        .front()
        .is_some_and(|oldest| *oldest <= now_ms - window_ms)
    {
        log.pop_front();
    }
    if log.len() >= max as usize {
        let oldest = log.front().copied().unwrap_or(now_ms);
        return Err((oldest + window_ms - now_ms).max(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MINUTE: i64 = 60_000;

    fn run(times: &[i64], window_ms: i64, max: u32) -> Vec<Result<(), i64>> {
        let mut log = VecDeque::new();
        times
            .iter()
            .map(|now| check(&mut log, *now, window_ms, max))
            .collect()
    }

    #[test]
    fn five_per_fifteen_minutes_refuses_the_sixth_until_the_first_leaves_the_window() {
        let times = [0, 0, 0, 0, 0, MINUTE, 15 * MINUTE - 1, 15 * MINUTE];
        let results = run(&times, 15 * MINUTE, 5);
        assert!(results[..5].iter().all(Result::is_ok));
        assert_eq!(results[5], Err(14 * MINUTE));
        assert_eq!(results[6], Err(1));
        assert_eq!(results[7], Ok(()));
    }

    proptest! {
        #[test]
        fn never_more_than_max_in_any_window(gaps in proptest::collection::vec(0i64..5_000, 1..200), max in 1u32..20) {
            let window = 10_000;
            let mut now = 0;
            let times: Vec<i64> = gaps.iter().map(|gap| { now += gap; now }).collect();
            let allowed: Vec<i64> = times.iter().zip(run(&times, window, max)).filter(|(_, r)| r.is_ok()).map(|(t, _)| *t).collect();
            for (i, start) in allowed.iter().enumerate() {
                let inside = allowed[i..].iter().take_while(|t| **t < start + window).count();
                prop_assert!(inside <= max as usize, "{inside} > {max} within a window");
            }
        }

        #[test]
        fn a_refusal_names_the_exact_wait_and_waiting_that_long_is_enough(max in 1u32..20, window in 1_000i64..1_000_000, at in 0i64..1_000) {
            let mut log = VecDeque::new();
            for _ in 0..max { prop_assert!(check(&mut log, 0, window, max).is_ok()); }
            let wait = check(&mut log, at.min(window - 1), window, max).expect_err("refused");
            prop_assert!(wait > 0);
            prop_assert!(check(&mut log, at.min(window - 1) + wait, window, max).is_ok());
        }
    }
}
