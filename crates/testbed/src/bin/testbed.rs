//! The `testbed` binary: serves the fault-injecting URL grammar on
//! 127.0.0.1 for benchmarks and manual use.
//!
//! `testbed --port N [--idle-close MS] [--tls]` prints `listening on
//! http://127.0.0.1:PORT` (port 0 picks a free one) and runs until killed.
//! With `--tls` it serves HTTPS with a self-signed certificate made at start,
//! writes that certificate to `testbed-PORT.pem` in the temporary directory
//! for clients to trust (`volley --cacert`), and prints a second line,
//! `certificate in PATH`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: testbed --port N [--idle-close MS] [--tls]";

/// Command-line settings.
struct Args {
    port: u16,
    idle_close: Option<Duration>,
    tls: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut port = None;
    let mut idle_close = None;
    let mut tls = false;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let text = value("--port")?;
                port = Some(text.parse().map_err(|_| format!("bad port {text:?}"))?);
            }
            "--idle-close" => {
                let text = value("--idle-close")?;
                let ms: u64 = text
                    .parse()
                    .map_err(|_| format!("bad --idle-close milliseconds {text:?}"))?;
                idle_close = Some(Duration::from_millis(ms));
            }
            "--tls" => {
                if inline.is_some() {
                    return Err("--tls takes no value".to_owned());
                }
                tls = true;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        port: port.ok_or("--port is required")?,
        idle_close,
        tls,
    })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("testbed: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("testbed: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // Room for a client that opens a few hundred connections at once.
        let listener = testbed::loopback_listener(args.port, 1024)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let tls = args.tls.then(testbed::Certificate::generate).transpose()?;
        let pem_path = match &tls {
            Some(cert) => {
                let path = std::env::temp_dir().join(format!("testbed-{}.pem", addr.port()));
                std::fs::write(&path, cert.pem()).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
                })?;
                Some(path)
            }
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut stdout = std::io::stdout();
        // Whoever started us reads these lines to learn the port (and where
        // the certificate is); if they stopped reading, serving is still
        // useful, so a write error is ignored.
        let _ = writeln!(stdout, "listening on {scheme}://{addr}");
        if let Some(path) = pem_path {
            let _ = writeln!(stdout, "certificate in {}", path.display());
        }
        let _ = stdout.flush();
        testbed::serve(listener, args.idle_close, tls).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testbed: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_flags() {
        let a = parse(&["--port", "8080", "--idle-close=1000"]).expect("valid");
        assert_eq!(a.port, 8080);
        assert_eq!(a.idle_close, Some(Duration::from_millis(1000)));
        assert!(!a.tls);
        assert!(parse(&["--port", "0", "--tls"]).expect("valid").tls);
        assert!(parse(&["--port", "0", "--tls=yes"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
