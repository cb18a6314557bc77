//! The loopback callback listener over real sockets on 127.0.0.1 and ::1: what the browser
//! gets, what the caller gets, and that the socket is gone once the redirect has arrived.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use jira_auth::callback::{
    self, Callback, CallbackError, CallbackListener, LoopbackTarget, loopback_target,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

const STATE: &str = "state-of-this-attempt";
const WAIT: Duration = Duration::from_secs(20);

fn target_on(ip: IpAddr, port: u16) -> LoopbackTarget {
    LoopbackTarget {
        host: ip.to_string(),
        ip,
        port,
        path: "/callback".into(),
    }
}

async fn listen() -> CallbackListener {
    // Port 0: the system picks a free one, no race with other tests.
    let target = target_on(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    callback::bind(&target, STATE.into()).await.unwrap()
}

fn start(listener: CallbackListener) -> (u16, JoinHandle<Result<Callback, CallbackError>>) {
    let port = listener.port();
    (port, tokio::spawn(listener.wait(WAIT)))
}

/// Sends a raw request and returns everything the server answered until it closed.
async fn get(port: u16, target: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// The wait goes on after a request it should have ignored: it still answers the next one
/// (once a wait ends its socket is closed, so nothing would), and has not ended since.
async fn assert_still_waiting(port: u16, handle: &JoinHandle<Result<Callback, CallbackError>>) {
    let page = get(port, "/still-waiting").await;
    assert!(
        page.starts_with("HTTP/1.1 404 "),
        "the wait no longer answers: {page:?}"
    );
    assert!(
        !handle.is_finished(),
        "the wait ended on a request it should have ignored"
    );
}

/// Every connection made before this call has been taken in by the listener: it accepts
/// in order, so once a later connection is answered, the earlier ones were accepted.
async fn accepted_so_far(port: u16) {
    let page = get(port, "/accepted").await;
    assert!(page.starts_with("HTTP/1.1 404 "), "{page:?}");
}

async fn finish(handle: JoinHandle<Result<Callback, CallbackError>>) -> Callback {
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("the wait ends once the redirect arrived")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_right_redirect_yields_the_code_and_a_success_page() {
    let (port, handle) = start(listen().await);
    let page = get(port, "/callback?code=the-code&state=state-of-this-attempt").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.contains("jira-auth received the authorization; you can close this tab and return to the terminal"),
        "{page}"
    );
    assert_eq!(finish(handle).await, Callback::Code("the-code".into()));
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_the_wait_goes_on() {
    let (port, handle) = start(listen().await);
    for target in [
        "/callback?code=forged&state=another",
        "/callback?code=forged",
    ] {
        let page = get(port, target).await;
        assert!(page.starts_with("HTTP/1.1 400 "), "{page}");
        assert!(page.contains("belongs to another attempt"), "{page}");
        assert_still_waiting(port, &handle).await;
    }
    get(port, "/callback?code=real&state=state-of-this-attempt").await;
    assert_eq!(finish(handle).await, Callback::Code("real".into()));
}

#[tokio::test]
async fn other_paths_get_404_and_are_ignored() {
    let (port, handle) = start(listen().await);
    for target in [
        "/favicon.ico",
        "/other?code=x&state=state-of-this-attempt",
        "/",
    ] {
        let page = get(port, target).await;
        assert!(page.starts_with("HTTP/1.1 404 "), "{target}: {page}");
        assert_still_waiting(port, &handle).await;
    }
    get(port, "/callback?code=real&state=state-of-this-attempt").await;
    assert_eq!(finish(handle).await, Callback::Code("real".into()));
}

#[tokio::test]
async fn a_declined_consent_is_reported() {
    let (port, handle) = start(listen().await);
    let page = get(
        port,
        "/callback?error=access_denied&error_description=User%20did%20not%20authorize%1B%5B2J&state=state-of-this-attempt",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("the consent was declined"), "{page}");
    assert_eq!(
        finish(handle).await,
        Callback::Denied {
            error: "access_denied".into(),
            description: Some("User did not authorize".into()),
        }
    );
}

#[tokio::test]
async fn it_serves_once_then_refuses_connections() {
    let (port, handle) = start(listen().await);
    get(port, "/callback?code=the-code&state=state-of-this-attempt").await;
    finish(handle).await;
    let error = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn dropping_the_wait_closes_the_socket() {
    let (port, handle) = start(listen().await);
    // A connection in progress must not keep anything alive either.
    let _silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    accepted_so_far(port).await;
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    let error = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn a_silent_connection_does_not_block_the_redirect() {
    let (port, handle) = start(listen().await);
    let _silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let page = get(port, "/callback?code=the-code&state=state-of-this-attempt").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert_eq!(finish(handle).await, Callback::Code("the-code".into()));
}

#[tokio::test]
async fn an_oversized_head_is_refused_and_the_wait_goes_on() {
    let (port, handle) = start(listen().await);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000));
    let mut request =
        String::from("GET /callback?code=big&state=state-of-this-attempt HTTP/1.1\r\n");
    while request.len() < 16 * 1024 {
        request.push_str(&filler);
    }
    // The server may stop reading and close before all of it is sent: either way is a refusal.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response).await {
        Ok(_) => {
            let response = String::from_utf8_lossy(&response);
            assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
        }
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
    assert_still_waiting(port, &handle).await;
    get(port, "/callback?code=small&state=state-of-this-attempt").await;
    assert_eq!(finish(handle).await, Callback::Code("small".into()));
}

#[tokio::test]
async fn other_methods_are_refused() {
    let (port, handle) = start(listen().await);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(b"POST /callback?code=x&state=state-of-this-attempt HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 405 "), "{response}");
    assert_still_waiting(port, &handle).await;
    get(port, "/callback?code=got&state=state-of-this-attempt").await;
    assert_eq!(finish(handle).await, Callback::Code("got".into()));
}

#[tokio::test]
async fn no_redirect_within_the_timeout_is_timed_out() {
    let listener = listen().await;
    let result = listener.wait(Duration::from_millis(100)).await;
    let error = result.unwrap_err();
    assert!(matches!(error, CallbackError::TimedOut { .. }), "{error:?}");
    assert!(
        error.to_string().contains("paste the redirected URL"),
        "{error}"
    );
}

#[tokio::test]
async fn a_busy_port_is_reported_with_the_way_out() {
    let occupant = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = occupant.local_addr().unwrap().port();
    let target = target_on(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let error = callback::bind(&target, STATE.into()).await.unwrap_err();
    assert!(
        matches!(error, CallbackError::PortBusy { port: busy } if busy == port),
        "{error:?}"
    );
    let sentence = error.to_string();
    assert!(sentence.contains("taken by another program"), "{sentence}");
    assert!(
        sentence.contains("pasting the redirected URL"),
        "{sentence}"
    );
}

#[tokio::test]
async fn only_loopback_is_bound() {
    let listener = listen().await;
    assert!(listener.local_address().ip().is_loopback());
    let port = listener.port();
    let handle = tokio::spawn(listener.wait(WAIT));
    // This machine's address on its default route, if it has one: the listener must not
    // answer there. Connecting a UDP socket sends nothing; it only picks the route.
    let outward = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| socket.connect("192.0.2.1:9").map(|()| socket))
        .and_then(|socket| socket.local_addr())
        .map(|address| address.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    if let Some(ip) = outward {
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            TcpStream::connect(SocketAddr::new(ip, port)),
        )
        .await;
        assert!(
            !matches!(attempt, Ok(Ok(_))),
            "the listener answered on {ip}"
        );
    }
    handle.abort();
}

#[tokio::test]
async fn a_wildcard_address_is_never_bound() {
    for ip in [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ] {
        let error = callback::bind(&target_on(ip, 0), STATE.into())
            .await
            .unwrap_err();
        assert!(
            matches!(error, CallbackError::Unavailable { .. }),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_localhost_callback_url_is_served_end_to_end() {
    // The callback URL needs a concrete port: borrow a free one from the system first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = loopback_target(&format!("http://localhost:{port}/auth/callback")).unwrap();
    let listener = callback::bind(&target, STATE.into()).await.unwrap();
    assert_eq!(
        listener.local_address(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    );
    let handle = tokio::spawn(listener.wait(WAIT));
    get(port, "/callback?code=x&state=state-of-this-attempt").await;
    assert_still_waiting(port, &handle).await;
    get(
        port,
        "/auth/callback?code=the-code&state=state-of-this-attempt",
    )
    .await;
    assert_eq!(finish(handle).await, Callback::Code("the-code".into()));
}

#[tokio::test]
async fn ipv6_loopback_is_served_where_the_machine_has_it() {
    let target = target_on(IpAddr::V6(Ipv6Addr::LOCALHOST), 0);
    let listener = match callback::bind(&target, STATE.into()).await {
        Ok(listener) => listener,
        // Containers without IPv6 have no ::1 to bind.
        Err(CallbackError::Unavailable { .. }) => return,
        Err(error) => panic!("{error:?}"),
    };
    assert_eq!(
        listener.local_address().ip(),
        IpAddr::V6(Ipv6Addr::LOCALHOST)
    );
    let port = listener.port();
    let handle = tokio::spawn(listener.wait(WAIT));
    let mut stream = TcpStream::connect(("::1", port)).await.unwrap();
    stream
        .write_all(
            b"GET /callback?code=six&state=state-of-this-attempt HTTP/1.1\r\nHost: [::1]\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert_eq!(finish(handle).await, Callback::Code("six".into()));
}

/// Bounds what must happen at once, so a regression fails instead of hanging; never a
/// measurement.
const FAIL_SAFE: Duration = Duration::from_secs(5);

/// Whether this machine can listen on ::1 at all (containers without IPv6 cannot).
fn ipv6_loopback_available() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// Sends `target` to `ip` and returns the whole answer.
async fn get_at(ip: IpAddr, port: u16, target: &str) -> String {
    let mut stream = TcpStream::connect((ip, port)).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn idle_and_slow_connections_do_not_delay_the_redirect() {
    let (port, handle) = start(listen().await);
    // A local process holding connections open without a word...
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    // ...and some trickling half a head that never ends.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        slow.push(tokio::spawn(async move {
            let mut sent = stream
                .write_all(
                    b"GET /callback?code=slow&state=state-of-this-attempt HTTP/1.1\r\nX-Slow: ",
                )
                .await;
            // Only a closed connection stops it.
            while sent.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                sent = stream.write_all(b"a").await;
            }
            sent
        }));
    }
    // The listener has taken them all in before the browser comes.
    accepted_so_far(port).await;

    let sent = Instant::now();
    let url = format!("http://localhost:{port}/callback?code=the-code&state={STATE}");
    let browser = tokio::task::spawn_blocking(move || {
        let page = common::browser_get(&url);
        (page, sent.elapsed())
    });
    let waiter = async {
        let callback = handle.await.unwrap().unwrap();
        (callback, sent.elapsed())
    };
    let (answered, (callback, delivered)) =
        tokio::time::timeout(FAIL_SAFE, async { tokio::join!(browser, waiter) })
            .await
            .expect("the redirect is served past idle and slow connections");
    let (page, paged) = answered.unwrap();
    println!(
        "past 200 idle and 10 slow connections: success page after {paged:?}, code delivered after {delivered:?}"
    );
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert_eq!(callback, Callback::Code("the-code".into()));

    // The wait is over: nothing it accepted may stay open.
    let closed = async {
        for mut stream in idle {
            let mut byte = [0u8; 1];
            match stream.read(&mut byte).await {
                Ok(0) => {}
                Ok(_) => panic!("an idle connection got an answer"),
                Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
            }
        }
        for writer in slow {
            assert!(writer.await.unwrap().is_err(), "a slow head was still read");
        }
    };
    tokio::time::timeout(FAIL_SAFE, closed)
        .await
        .expect("every connection is closed once the redirect arrived");
}

#[tokio::test]
async fn a_localhost_callback_is_served_on_both_loopback_addresses() {
    let mut addresses = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    if ipv6_loopback_available() {
        addresses.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    } else {
        println!("note: this machine cannot bind ::1; only the 127.0.0.1 half is checked");
    }
    for ip in addresses {
        // Port 0 here: the system picks one free on both addresses.
        let target = LoopbackTarget {
            host: "localhost".into(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            path: "/callback".into(),
        };
        let (port, handle) = start(callback::bind(&target, STATE.into()).await.unwrap());
        let refused = get_at(ip, port, "/callback?code=forged&state=another").await;
        assert!(refused.starts_with("HTTP/1.1 400 "), "{ip}: {refused}");
        assert_still_waiting(port, &handle).await;
        let page = get_at(ip, port, "/callback?code=on-it&state=state-of-this-attempt").await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{ip}: {page}");
        assert_eq!(finish(handle).await, Callback::Code("on-it".into()), "{ip}");
        for ip in [
            Ipv4Addr::LOCALHOST.into(),
            IpAddr::from(Ipv6Addr::LOCALHOST),
        ] {
            let error = TcpStream::connect((ip, port)).await.unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused, "{ip}");
        }
    }
}

#[tokio::test]
async fn a_program_on_the_ipv6_loopback_port_makes_localhost_busy() {
    let Ok(occupant) = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) else {
        println!("note: this machine cannot bind ::1; nothing can hold it");
        return;
    };
    let port = occupant.local_addr().unwrap().port();
    let target = loopback_target(&format!("http://localhost:{port}/callback")).unwrap();
    let error = callback::bind(&target, STATE.into()).await.unwrap_err();
    assert!(
        matches!(error, CallbackError::PortBusy { port: busy } if busy == port),
        "{error:?}"
    );
    // Nothing of the half-made listener is left on 127.0.0.1.
    let refused = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn a_literal_loopback_callback_binds_only_that_address() {
    if !ipv6_loopback_available() {
        println!("note: this machine cannot bind ::1; there is no other address to leave free");
        return;
    }
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    for (bound, other) in [(v4, v6), (v6, v4)] {
        let listener = callback::bind(&target_on(bound, 0), STATE.into())
            .await
            .unwrap();
        let port = listener.port();
        let error = TcpStream::connect((other, port)).await.unwrap_err();
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{bound} also listens on {other}"
        );
    }
}

#[tokio::test]
async fn a_repeated_code_or_state_is_refused_and_the_wait_goes_on() {
    let (port, handle) = start(listen().await);
    for (target, parameter) in [
        (
            "/callback?code=first&code=second&state=state-of-this-attempt",
            "code",
        ),
        (
            "/callback?code=first&state=state-of-this-attempt&state=state-of-this-attempt",
            "state",
        ),
        (
            "/callback?state=another&code=first&state=state-of-this-attempt",
            "state",
        ),
    ] {
        let page = get(port, target).await;
        assert!(page.starts_with("HTTP/1.1 400 "), "{target}: {page}");
        assert!(
            page.contains(&format!("{parameter} more than once")),
            "{target}: {page}"
        );
        assert_still_waiting(port, &handle).await;
    }
    get(port, "/callback?code=real&state=state-of-this-attempt").await;
    assert_eq!(finish(handle).await, Callback::Code("real".into()));
}
