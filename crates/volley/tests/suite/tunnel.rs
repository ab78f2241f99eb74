//! HTTPS through a proxy: a `CONNECT` tunnel to the origin, with TLS to the
//! origin inside it, for an HTTP/1.1 origin and an HTTP/2 one (whose
//! protocol is learnt through the tunnel like any other).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::Version;
use testbed::{Options, Testbed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use volley::RequestSpec;

use super::h2_origin::H2Origin;
use super::support::{all_ok, fast};

/// A proxy that answers `CONNECT host:port` by joining the client to that
/// address, and refuses anything else with 405. It remembers each tunnel's
/// target.
struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    async fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("bound");
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&targets);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(tunnel(client, Arc::clone(&seen)));
            }
        });
        ConnectProxy { addr, targets }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn targets(&self) -> Vec<String> {
        self.targets.lock().expect("not poisoned").clone()
    }
}

/// One proxy connection: the request head, then the tunnel.
async fn tunnel(mut client: TcpStream, targets: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so that nothing after the head is read: the client
    // sends its TLS hello only after our answer anyway.
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = match head.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, ..] => target.to_owned(),
        _ => {
            let _ = client
                .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                .await;
            return;
        }
    };
    // Only loopback targets: the tests never leave this machine.
    let addr: SocketAddr = match target.parse() {
        Ok(addr @ SocketAddr::V4(v4)) if v4.ip().is_loopback() => addr,
        _ => return,
    };
    targets.lock().expect("not poisoned").push(target);
    let Ok(mut origin) = TcpStream::connect(addr).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut origin).await;
}

/// An HTTP/1.1 origin over TLS through a tunnel: every request arrives
/// once, and every connection the origin saw is a tunnel to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_an_http1_origin_goes_through_a_connect_tunnel() {
    let proxy = ConnectProxy::start().await;
    let tb = Testbed::start_with(Options {
        tls: true,
        ..Options::default()
    });
    let client = fast()
        .proxy(proxy.url())
        .add_root_certificate_pem(tb.ca_pem().expect("a TLS testbed has a certificate"))
        .concurrency(4)
        .build()
        .expect("valid settings");
    all_ok(&client, 20, |i| {
        RequestSpec::get(tb.url(&format!("/json/{i}")))
    })
    .await;
    assert_eq!(tb.journal().total(), 20, "each request arrived once");
    let targets = proxy.targets();
    let origin = tb.addr().to_string();
    assert!(
        !targets.is_empty() && targets.iter().all(|t| *t == origin),
        "{targets:?}"
    );
    // Every connection the origin saw came through the proxy (a tunnel
    // still being made when the last request ended may not have reached
    // the origin yet).
    let direct_or_tunnelled = tb.journal().connections();
    assert!(
        (1..=targets.len() as u64).contains(&direct_or_tunnelled),
        "{direct_or_tunnelled} connections, {} tunnels",
        targets.len()
    );
}

/// An HTTP/2 origin through a tunnel: the probe's handshake inside the
/// tunnel chooses `h2`, and every request shares that one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_an_h2_origin_goes_through_one_tunnel() {
    let proxy = ConnectProxy::start().await;
    let origin = H2Origin::start();
    let client = fast()
        .proxy(proxy.url())
        .add_root_certificate_pem(origin.pem())
        .concurrency(16)
        .build()
        .expect("valid settings");
    all_ok(&client, 50, |i| {
        RequestSpec::get(origin.url(&format!("/json/{i}")))
    })
    .await;
    let arrivals = origin.arrivals();
    assert_eq!(arrivals.len(), 50, "each request arrived once");
    assert!(arrivals.iter().all(|a| a.version == Version::HTTP_2));
    // As in `h2::many_requests_share_one_connection`: one, at times two.
    let tunnels = proxy.targets().len();
    assert!((1..=2).contains(&tunnels), "{tunnels} tunnels");
    assert!(origin.accepted() <= tunnels, "a connection not tunnelled");
}
