use time::macros::datetime;

use super::*;

#[test]
fn pruning_for_a_short_rule_keeps_the_log_of_a_longer_one() {
    let limiter = MemoryRateLimiter::new();
    let start = datetime!(2026-01-01 0:00 UTC);
    let account_rule = RateLimitRule {
        window: Duration::minutes(15),
        max: 2,
    };
    let general_rule = RateLimitRule {
        window: Duration::seconds(10),
        max: 100,
    };
    let account = "account:a@example.com|/sign-in/email";
    for _ in 0..2 {
        assert_eq!(
            limiter.check_now(account, account_rule, start),
            RateLimitDecision::Allowed
        );
    }
    // The account's shard filled to the brim with general-rule keys.
    let shard = shard_of(account);
    let mut same_shard = (0..)
        .map(|n| format!("ip:10.0.{}.{}|/x{n}", n / 256 % 256, n % 256))
        .filter(|key| shard_of(key) == shard);
    for key in same_shard.by_ref().take(PRUNE_ABOVE) {
        limiter.check_now(&key, general_rule, start);
    }
    // A minute later a general-rule check prunes the shard: every general log has expired,
    // the account's (15 minutes) has not.
    let later = start + Duration::minutes(1);
    let trigger = same_shard.next().expect("another key");
    limiter.check_now(&trigger, general_rule, later);
    let kept = limiter.shards[shard]
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .logs
        .len();
    assert_eq!(kept, 2, "the account's log and the new key");
    assert!(matches!(
        limiter.check_now(account, account_rule, later),
        RateLimitDecision::Limited { .. }
    ));
}
