//! Login against vcsim: the right password opens a session, a wrong one is
//! InvalidLogin (never a generic failure), a dead port is Unreachable.

use vsphere::vcsim::Vcsim;
use vsphere::{Error, Session, Target};

fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[tokio::test]
async fn login_right_and_wrong_password() {
    init();
    let sim = Vcsim::start("svc@vsphere.local", "s3cret-Pa55", &[]).expect("vcsim");
    let target = Target::parse(&sim.url(), true).unwrap();
    let s = Session::login(&target, &sim.user, &sim.password)
        .await
        .expect("login with the right password");
    let about = s.about();
    assert!(!about.full_name.is_empty());
    s.logout().await.expect("logout");

    let err = Session::login(&target, &sim.user, "wrong-password")
        .await
        .expect_err("a wrong password must fail");
    assert!(matches!(err, Error::InvalidLogin { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("wrong-password"), "{text}");
    assert!(text.contains(&sim.server), "{text}");
}

#[tokio::test]
async fn dead_port_is_unreachable() {
    init();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = Target::parse(&format!("127.0.0.1:{port}"), true).unwrap();
    let err = Session::login(&target, "u", "p").await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
}

/// The session's HTTP client (SOAP, vAPI, NFC) follows no redirect that
/// leaves the server it was talking to.
#[tokio::test]
async fn the_session_client_refuses_cross_origin_redirects() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    init();
    let sim = Vcsim::start("svc@vsphere.local", "s3cret-Pa55", &[]).expect("vcsim");
    let target = Target::parse(&sim.url(), true).unwrap();
    let s = Session::login(&target, &sim.user, &sim.password)
        .await
        .unwrap();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_port = other.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = other.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = c
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = first.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = first.accept().await {
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf).await;
            let r = format!(
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{other_port}/rest\r\ncontent-length: 0\r\n\r\n"
            );
            let _ = c.write_all(r.as_bytes()).await;
        }
    });
    let e = s
        .http()
        .get(format!(
            "http://127.0.0.1:{port}/rest/com/vmware/cis/session"
        ))
        .header("vmware-api-session-id", "token-abc")
        .send()
        .await
        .unwrap_err();
    assert!(e.is_redirect(), "{e:?}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    s.logout().await.unwrap();
}

/// A password changed in vCenter (vcsim's stdin, as an SSO administrator
/// would): the old one stops working for new logins, the new one works,
/// and a session opened before the change stays usable.
#[tokio::test]
async fn a_changed_password_takes_effect_for_new_logins_only() {
    init();
    let mut sim = Vcsim::start("svc@vsphere.local", "Before-Pa55", &[]).expect("vcsim");
    let target = Target::parse(&sim.url(), true).unwrap();
    let before = Session::login(&target, &sim.user, "Before-Pa55")
        .await
        .expect("login before the change");
    sim.change_password("After-Pa55").expect("password change");
    assert_eq!(sim.password, "After-Pa55");
    let err = Session::login(&target, &sim.user, "Before-Pa55")
        .await
        .expect_err("the old password must fail after the change");
    assert!(matches!(err, Error::InvalidLogin { .. }), "{err:?}");
    let after = Session::login(&target, &sim.user, "After-Pa55")
        .await
        .expect("login with the new password");
    after.list_vms().await.expect("the new session works");
    before
        .list_vms()
        .await
        .expect("the older session still works");
    after.logout().await.expect("logout");
    before.logout().await.expect("logout");
}
