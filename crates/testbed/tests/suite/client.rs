//! Just enough HTTP/1.1 to read the testbed's responses: status, headers,
//! and a body framed by `Content-Length`, chunked, or the end of the stream,
//! over plain TCP or TLS (rustls' blocking stream).
//! Every read has a timeout, so a server bug fails a test instead of hanging it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// A byte stream to the server: a `TcpStream`, or TLS over one.
pub trait Transport: Read + Write {}
impl<T: Read + Write> Transport for T {}

/// One connection to the server.
pub struct Client {
    reader: BufReader<Box<dyn Transport>>,
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// A TCP connection with a read timeout.
fn tcp(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the testbed");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    stream
}

/// A TLS client configuration (ring provider) trusting only the
/// certificates in `pem`; an empty `pem` trusts nothing.
pub fn tls_config(pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a usable root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS stream to `addr` for the name `name`, handshake done, or the
/// handshake's error.
pub fn tls_stream(
    addr: SocketAddr,
    name: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = ServerName::try_from(name.to_owned()).expect("a valid server name");
    let connection = rustls::ClientConnection::new(config, name).expect("a client connection");
    let mut stream = rustls::StreamOwned::new(connection, tcp(addr));
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client {
            reader: BufReader::new(Box::new(tcp(addr))),
        }
    }

    /// A TLS connection to `addr` as `name`, trusting only `pem`.
    pub fn connect_tls(addr: SocketAddr, name: &str, pem: &str) -> Client {
        let stream = tls_stream(addr, name, tls_config(pem)).expect("a TLS handshake");
        Client {
            reader: BufReader::new(Box::new(stream)),
        }
    }

    /// Sends raw bytes.
    pub fn send(&mut self, raw: &[u8]) {
        let stream = self.reader.get_mut();
        stream.write_all(raw).expect("send");
        stream.flush().expect("send");
    }

    /// Sends `GET path` with keep-alive.
    pub fn send_get(&mut self, path: &str) {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: testbed\r\n\r\n").as_bytes());
    }

    /// `GET path` and its response.
    pub fn get(&mut self, path: &str) -> Response {
        self.send_get(path);
        self.read_response().expect("a response")
    }

    /// Reads the status line and headers of the next response, no body.
    pub fn read_head(&mut self) -> io::Result<Response> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        if line.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Ok(Response {
            status,
            headers,
            body: Vec::new(),
        })
    }

    /// Reads the next response (not for an answer to `HEAD`).
    pub fn read_response(&mut self) -> io::Result<Response> {
        let mut response = self.read_head()?;
        let status = response.status;
        if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().expect("a numeric Content-Length");
            response.body.resize(len, 0);
            self.reader.read_exact(&mut response.body)?;
        } else if response.header("transfer-encoding") == Some("chunked") {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size)?;
                let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                response.body.extend_from_slice(&chunk[..size]);
            }
        } else if !matches!(status, 100..=199 | 204 | 304) {
            self.reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    /// Reads whatever comes until the server closes or resets.
    pub fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        self.reader.read_to_end(&mut all)?;
        Ok(all)
    }

    /// Reads into `buf` until the server closes or resets, returning what
    /// arrived and how the stream ended.
    pub fn read_until_error(&mut self) -> (Vec<u8>, io::Result<()>) {
        let mut all = Vec::new();
        let mut buf = [0; 4096];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return (all, Ok(())),
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) => return (all, Err(e)),
            }
        }
    }
}

/// One request on a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    Client::connect(addr).get(path)
}
