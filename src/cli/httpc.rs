//! Benchmark clients: a minimal keep-alive HTTP/1.1 client (GET with
//! headers, Content-Length bodies) and one shared HTTP/2 connection over
//! hyper (already in the build for tonic), as a gRPC channel is shared.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    pub async fn connect(addr: std::net::SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    /// GET `path`; returns (status, body).
    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

/// One cleartext HTTP/2 (prior knowledge) connection shared by many callers;
/// clones multiplex their requests on it.
#[derive(Clone)]
pub struct H2 {
    send: hyper::client::conn::http2::SendRequest<http_body_util::Empty<hyper::body::Bytes>>,
    authority: std::sync::Arc<str>,
}

impl H2 {
    pub async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<H2> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(s),
        )
        .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(H2 {
            send,
            authority: addr.to_string().into(),
        })
    }

    /// GET `path`; returns (status, body).
    pub async fn get(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<(u16, hyper::body::Bytes)> {
        use http_body_util::BodyExt;
        let mut req = hyper::Request::get(format!("http://{}{path}", self.authority));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(http_body_util::Empty::new())?;
        self.send.ready().await?;
        let resp = self.send.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// A benchmark caller's connection: GET a path, answer the status.
pub trait Get: Send + 'static {
    fn get_status(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> impl std::future::Future<Output = anyhow::Result<u16>> + Send;
}

impl Get for Conn {
    async fn get_status(&mut self, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<u16> {
        Ok(self.get(path, headers).await?.0)
    }
}

impl Get for H2 {
    async fn get_status(&mut self, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<u16> {
        Ok(self.get(path, headers).await?.0)
    }
}
