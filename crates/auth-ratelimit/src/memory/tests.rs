use time::macros::datetime;

use super::*;

const GENERAL: RateLimitRule = RateLimitRule {
    window: Duration::seconds(10),
    max: 100,
};
const ACCOUNT: RateLimitRule = RateLimitRule {
    window: Duration::minutes(15),
    max: 2,
};

/// Keys that land in `key`'s shard.
fn same_shard_as(key: &str) -> impl Iterator<Item = String> {
    let shard = shard_of(key);
    (0..)
        .map(|n| format!("ip:10.0.{}.{}|/x{n}", n / 256 % 256, n % 256))
        .filter(move |candidate| shard_of(candidate) == shard)
}

fn keys_in_shard(limiter: &MemoryRateLimiter, key: &str) -> usize {
    limiter.shards[shard_of(key)]
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .logs
        .len()
}

#[test]
fn a_full_shard_drops_expired_logs_first_and_keeps_a_live_longer_one() {
    let limiter = MemoryRateLimiter::with_max_keys(SHARDS * 100);
    let start = datetime!(2026-01-01 0:00 UTC);
    let account = "account:a@example.com|/sign-in/email";
    for _ in 0..2 {
        assert_eq!(
            limiter.check_now(account, ACCOUNT, start),
            RateLimitDecision::Allowed
        );
    }
    let mut others = same_shard_as(account);
    for key in others.by_ref().take(99) {
        limiter.check_now(&key, GENERAL, start);
    }
    assert_eq!(keys_in_shard(&limiter, account), 100, "the shard is full");
    // A minute later a new key needs room: every general log has expired, the account's (15
    // minutes) has not.
    let later = start + Duration::minutes(1);
    let trigger = others.next().expect("another key");
    limiter.check_now(&trigger, GENERAL, later);
    assert_eq!(
        keys_in_shard(&limiter, account),
        2,
        "the account's log and the new key"
    );
    assert!(matches!(
        limiter.check_now(account, ACCOUNT, later),
        RateLimitDecision::Limited { .. }
    ));
}

#[test]
fn a_flood_of_new_keys_never_grows_past_the_cap_nor_resets_a_live_log() {
    let limiter = MemoryRateLimiter::with_max_keys(SHARDS * 50);
    let start = datetime!(2026-01-01 0:00 UTC);
    let account = "account:victim@example.com|/sign-in/email";
    for _ in 0..2 {
        limiter.check_now(account, ACCOUNT, start);
    }
    let mut flood = same_shard_as(account);
    for (n, key) in flood.by_ref().take(5_000).enumerate() {
        let at = start + Duration::milliseconds(i64::try_from(n).unwrap_or(0));
        limiter.check_now(&key, ACCOUNT, at);
    }
    // One overflow log per rule comes on top of the cap.
    assert_eq!(keys_in_shard(&limiter, account), 51);
    assert!(
        matches!(
            limiter.check_now(account, ACCOUNT, start + Duration::minutes(1)),
            RateLimitDecision::Limited { .. }
        ),
        "the victim's log was not evicted"
    );
    // New keys that found no room share the overflow log, so they are still limited.
    let newcomer = flood.next().expect("key");
    assert!(matches!(
        limiter.check_now(&newcomer, ACCOUNT, start + Duration::minutes(1)),
        RateLimitDecision::Limited { .. }
    ));
    // Once the windows pass, the shard makes room again.
    let much_later = start + Duration::minutes(20);
    assert_eq!(
        limiter.check_now(&newcomer, ACCOUNT, much_later),
        RateLimitDecision::Allowed
    );
    assert_eq!(keys_in_shard(&limiter, account), 1);
    assert!(limiter.len() <= SHARDS * 51);
}
