//! The `TwoFactorRepo` conformance cases: one row per user, `twoFactorEnabled` written with
//! it, and every single-use rule (backup codes, TOTP steps) and the failure count exact under
//! concurrent calls.
#![allow(
    clippy::expect_used,
    reason = "a conformance case panics on the first port call that fails, naming it"
)]

use std::sync::Arc;

use auth_domain::UserId;
use auth_domain::two_factor::TwoFactor;
use auth_ports::{PortError, TwoFactorRepo, UserRepo};
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = time::macros::datetime!(2026-12-01 10:00 UTC);

async fn user(users: &dyn UserRepo, tag: &str) -> UserId {
    let user = super::user(&format!("2fa-{tag}"));
    users
        .create_with_account(&user, &super::credential(&user))
        .await
        .expect("create a user");
    user.id
}

fn row(id: &str, user_id: &UserId) -> TwoFactor {
    TwoFactor {
        id: id.to_owned(),
        user_id: user_id.clone(),
        sealed_secret: format!("secret-{id}"),
        sealed_backup_codes: format!("codes-{id}"),
        verified: false,
        failed_verification_count: 0,
        locked_until: None,
        last_used_step: None,
    }
}

async fn enabled(users: &dyn UserRepo, user_id: &UserId) -> bool {
    users
        .find_by_id(user_id)
        .await
        .expect("user")
        .expect("exists")
        .two_factor_enabled
}

/// Runs every case against a store with no two-factor rows. `store` holds the users too.
///
/// # Panics
/// When a case fails, with its name.
pub async fn run_two_factor_suite<S>(store: Arc<S>)
where
    S: TwoFactorRepo + UserRepo + 'static,
{
    one_row_per_user_confirmed_with_the_user_flag(store.as_ref()).await;
    backup_codes_and_steps_are_taken_once_under_concurrency(store.clone()).await;
    failures_count_exactly_and_lock(store.clone()).await;
}

async fn one_row_per_user_confirmed_with_the_user_flag<S>(store: &S)
where
    S: TwoFactorRepo + UserRepo,
{
    assert!(
        matches!(
            store
                .start_two_factor(&row("ghost", &UserId::new("no-such-user")))
                .await,
            Err(PortError::NotFound)
        ),
        "start: an unknown user"
    );
    let ada = user(store, "ada").await;
    assert_eq!(store.find_two_factor(&ada).await.expect("find"), None);
    assert!(
        store
            .start_two_factor(&row("first", &ada))
            .await
            .expect("start")
    );
    assert!(
        store
            .start_two_factor(&row("second", &ada))
            .await
            .expect("restart"),
        "a row in waiting is replaced"
    );
    let waiting = store
        .find_two_factor(&ada)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(waiting.id, "second");
    assert!(!waiting.verified);
    assert!(
        !enabled(store, &ada).await,
        "not enabled before the first code"
    );

    assert!(store.confirm_two_factor("second").await.expect("confirm"));
    assert!(
        !store
            .confirm_two_factor("gone")
            .await
            .expect("confirm a ghost")
    );
    let confirmed = store
        .find_two_factor(&ada)
        .await
        .expect("find")
        .expect("row");
    assert!(confirmed.verified);
    assert_eq!(confirmed.sealed_secret, "secret-second");
    assert!(enabled(store, &ada).await, "enabled with the confirmation");
    assert!(
        !store
            .start_two_factor(&row("third", &ada))
            .await
            .expect("start over"),
        "a verified row stays"
    );
    assert_eq!(
        store
            .find_two_factor(&ada)
            .await
            .expect("find")
            .map(|row| row.id),
        Some("second".to_owned())
    );

    assert!(store.set_two_factor_enabled(&ada, true).await.expect("set"));
    assert!(enabled(store, &ada).await);
    assert!(
        !store
            .set_two_factor_enabled(&UserId::new("no-such-user"), true)
            .await
            .expect("set a ghost")
    );
    assert!(store.delete_two_factor(&ada).await.expect("delete"));
    assert!(!store.delete_two_factor(&ada).await.expect("delete again"));
    assert_eq!(store.find_two_factor(&ada).await.expect("find"), None);
    assert!(!enabled(store, &ada).await, "disabled with the row");

    let bob = user(store, "bob").await;
    store
        .start_two_factor(&row("bobs", &bob))
        .await
        .expect("start");
    UserRepo::delete(store, &bob)
        .await
        .expect("delete the user");
    assert_eq!(
        store.find_two_factor(&bob).await.expect("find"),
        None,
        "the row goes with its user"
    );
}

async fn backup_codes_and_steps_are_taken_once_under_concurrency<S>(store: Arc<S>)
where
    S: TwoFactorRepo + UserRepo + 'static,
{
    let cy = user(store.as_ref(), "cy").await;
    store
        .start_two_factor(&row("cys", &cy))
        .await
        .expect("start");
    assert!(
        !store
            .swap_backup_codes("cys", "not-the-codes", "new")
            .await
            .expect("swap"),
        "a stale value is not replaced"
    );
    let tasks: Vec<_> = (0..20)
        .map(|index| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .swap_backup_codes("cys", "codes-cys", &format!("spent-{index}"))
                    .await
            })
        })
        .collect();
    let mut swapped = 0;
    for task in tasks {
        if task.await.expect("task").expect("swap") {
            swapped += 1;
        }
    }
    assert_eq!(swapped, 1, "one of twenty redemptions of one code");
    let after = store
        .find_two_factor(&cy)
        .await
        .expect("find")
        .expect("row");
    assert!(after.sealed_backup_codes.starts_with("spent-"));

    assert!(store.claim_step("cys", 5).await.expect("claim"));
    assert!(
        !store.claim_step("cys", 5).await.expect("again"),
        "a step once"
    );
    assert!(
        !store.claim_step("cys", 4).await.expect("older"),
        "nothing older"
    );
    assert!(store.claim_step("cys", 6).await.expect("newer"));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_step("cys", 7).await })
        })
        .collect();
    let mut claimed = 0;
    for task in tasks {
        if task.await.expect("task").expect("claim") {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1, "one of ten uses of one code");
    assert_eq!(
        store
            .find_two_factor(&cy)
            .await
            .expect("find")
            .and_then(|row| row.last_used_step),
        Some(7)
    );
}

async fn failures_count_exactly_and_lock<S>(store: Arc<S>)
where
    S: TwoFactorRepo + UserRepo + 'static,
{
    let dan = user(store.as_ref(), "dan").await;
    store
        .start_two_factor(&row("dans", &dan))
        .await
        .expect("start");
    let tasks: Vec<_> = (0..9)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.begin_attempt("dans", T0).await })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(
            task.await
                .expect("task")
                .expect("attempt")
                .expect("not locked"),
        );
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=9).collect::<Vec<i64>>(),
        "every concurrent attempt counts once"
    );
    store
        .lock_until("dans", T0 + Duration::minutes(15))
        .await
        .expect("lock");
    assert_eq!(
        store
            .begin_attempt("dans", T0 + Duration::minutes(14))
            .await
            .expect("attempt"),
        None,
        "refused while locked, nothing counted"
    );
    let locked = store
        .find_two_factor(&dan)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(locked.failed_verification_count, 9);
    assert_eq!(
        store
            .begin_attempt("dans", T0 + Duration::minutes(15))
            .await
            .expect("attempt"),
        Some(1),
        "a lock that ran out goes with its count"
    );
    store.reset_failures("dans").await.expect("reset");
    let reset = store
        .find_two_factor(&dan)
        .await
        .expect("find")
        .expect("row");
    assert_eq!(reset.failed_verification_count, 0);
    assert_eq!(reset.locked_until, None);
    assert_eq!(
        store.begin_attempt("ghost", T0).await.expect("attempt"),
        None
    );
}
