//! WebSocket tickets: one session each, once, for thirty seconds.

use auth_ports::Clock as _;

use super::*;

#[tokio::test]
async fn a_ticket_stands_for_its_session_once_and_briefly() {
    let f = fixture();
    let signed = f
        .auth
        .sign_up_email_session(sign_up("ws@example.com", "password-123"))
        .await
        .expect("sign-up");
    let who = context(&f.auth, &signed.session.token).await;
    let ticket = f.auth.issue_ws_ticket(&who).await.expect("ticket");
    assert_eq!(ticket.expires_at, f.clock.now() + WS_TICKET_LIFETIME);
    assert!(!format!("{ticket:?}").contains(ticket.ticket.expose().as_str()));
    let redeemed = f
        .auth
        .redeem_ws_ticket(ticket.ticket.expose())
        .await
        .expect("redeem")
        .expect("a session");
    assert_eq!(redeemed.session.id, who.session.id);
    assert!(
        f.auth
            .redeem_ws_ticket(ticket.ticket.expose())
            .await
            .expect("redeem")
            .is_none(),
        "once"
    );

    let late = f.auth.issue_ws_ticket(&who).await.expect("ticket");
    f.clock.advance(WS_TICKET_LIFETIME);
    assert!(
        f.auth
            .redeem_ws_ticket(late.ticket.expose())
            .await
            .expect("redeem")
            .is_none(),
        "expired"
    );

    let orphan = f.auth.issue_ws_ticket(&who).await.expect("ticket");
    f.auth
        .sign_out(&who.session.token, &ClientInfo::default())
        .await
        .expect("sign-out");
    assert!(
        f.auth
            .redeem_ws_ticket(orphan.ticket.expose())
            .await
            .expect("redeem")
            .is_none(),
        "the session ended"
    );
    for junk in ["", "short", "a%b", &"x".repeat(33), "ws-ticket:x\u{0}"] {
        assert!(
            f.auth
                .redeem_ws_ticket(junk)
                .await
                .expect("redeem")
                .is_none()
        );
    }
    let mut vouched = who.clone();
    vouched.session.token = SessionToken::new("not-stored".to_owned());
    assert!(matches!(
        f.auth.issue_ws_ticket(&vouched).await,
        Err(AuthError::Unauthorized)
    ));
}
