//! An HTTP/1.1 test client that shows what went over the wire: one request
//! per connection, `Connection: close`, read to the end; status, headers
//! and the raw body as received (chunked bodies de-chunked).

use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client of one server.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub addr: SocketAddr,
}

/// A request to send.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Req {
        Req {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(path: &str) -> Req {
        Req::new("GET", path)
    }

    pub fn post(path: &str) -> Req {
        Req::new("POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn bearer(self, token: &str) -> Req {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, body: &Value) -> Req {
        self.header("Content-Type", "application/json")
            .body(serde_json::to_vec(body).expect("JSON"))
    }

    pub fn body(mut self, body: Vec<u8>) -> Req {
        self.body = Some(body);
        self
    }
}

/// A response as received.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// The answer is 200 JSON; returns the document.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(
            self.status,
            200,
            "expected 200, got {}: {}",
            self.status,
            self.text()
        );
        assert!(
            self.content_type().starts_with("application/json"),
            "content type {:?}",
            self.content_type()
        );
        self.json()
    }
}

/// How long any one request may take before the test calls it a hang.
pub const HANG: Duration = Duration::from_secs(15);

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client { addr }
    }

    /// A client of `127.0.0.1:port`.
    pub fn local(port: u16) -> Client {
        Client::new(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Send `req`; a refused connection or an answer later than [`HANG`]
    /// fails the test.
    pub async fn send(&self, req: Req) -> Resp {
        let what = format!("{} {}", req.method, req.path);
        self.try_send(req)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// Send `req`; a refused or reset connection is an error (for a test
    /// waiting for a server to come up). No answer within [`HANG`] fails
    /// the test.
    pub async fn try_send(&self, req: Req) -> std::io::Result<Resp> {
        let what = format!("{} {}", req.method, req.path);
        tokio::time::timeout(HANG, self.exchange(req))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within {HANG:?}"))
    }

    async fn exchange(&self, req: Req) -> std::io::Result<Resp> {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
        let _ = stream.set_nodelay(true);
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            req.method, req.path, self.addr
        );
        for (k, v) in &req.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        // A body the caller already chunk-encoded goes as it is.
        let chunked = req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
        let body = req.body.unwrap_or_default();
        if !chunked && (!body.is_empty() || req.method != "GET") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        // The server may answer (e.g. 413) and close before reading it all.
        let _ = stream.write_all(&bytes).await;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                // A reset after the answer arrived still leaves the answer.
                Err(e) if !buf.is_empty() => {
                    let _ = e;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if buf.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection closed without an answer",
            ));
        }
        Ok(parse_response(&buf))
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Req::get(path).bearer(token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(Req::post(path).bearer(token).json(body)).await
    }
}

fn parse_response(buf: &[u8]) -> Resp {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(buf)));
    let head = std::str::from_utf8(&buf[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    assert!(
        version.starts_with("HTTP/1."),
        "status line {status_line:?}"
    );
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(raw)
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        assert!(
            raw.len() >= len,
            "body shorter ({}) than Content-Length {len}",
            raw.len()
        );
        raw[..len].to_vec()
    } else {
        raw.to_vec()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&raw[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .expect("a chunk size");
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
}
