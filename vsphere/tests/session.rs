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
