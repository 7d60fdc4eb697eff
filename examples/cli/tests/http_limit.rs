//! The command line's HTTP host stops reading a response at its limit: a server cannot make
//! MsSync hold more (with or without a Content-Length).

use mssync_cli::http::ReqwestHttp;
use mssync_core::host::{HttpClient, HttpRequest, Method, TransportErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves one answer per connection on loopback: `head` then `body_len` bytes of 'x'.
async fn serve(head: &'static str, body_len: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let head = head.replace("{len}", &body_len.to_string());
            let _ = stream.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                left -= n;
            }
            let _ = stream.shutdown().await;
        }
    });
    format!("http://{address}/")
}

#[tokio::test]
async fn a_response_longer_than_the_limit_is_refused_while_reading() {
    let with_length = serve(
        "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
        4 * 1024 * 1024,
    )
    .await;
    let without_length = serve(
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
        4 * 1024 * 1024,
    )
    .await;
    let http = ReqwestHttp::with_limit(1024 * 1024);
    for url in [with_length, without_length] {
        let error = http
            .send(HttpRequest::new(Method::Get, &url))
            .await
            .expect_err("too long");
        assert_eq!(error.kind, TransportErrorKind::Host);
        assert!(
            error.message.contains("max_response_bytes"),
            "{}",
            error.message
        );
    }
    // Within the limit, the whole body arrives.
    let small = serve("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 1000).await;
    let response = http
        .send(HttpRequest::new(Method::Get, &small))
        .await
        .unwrap();
    assert_eq!(response.body.len(), 1000);
}
