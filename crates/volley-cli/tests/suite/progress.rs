//! The progress bar on a real pseudo-terminal: it updates and gives way to
//! the summary, and is absent on pipes, with `-q`, and without colour under
//! `NO_COLOR`.

use std::io::Read as _;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use super::support::{read_records, run, volley, Input, Testbed, FAST};

/// No pseudo-terminal run here takes anywhere near this long.
const PTY_LIMIT: Duration = Duration::from_secs(120);

/// What a run on a pseudo-terminal printed there, and how it ended.
struct PtyRun {
    /// Everything written to the terminal (stdout and stderr together), as sent.
    raw: String,
    /// The exit status; `None` when it ended by a signal.
    code: Option<i32>,
}

/// Runs the binary with stdin, stdout and stderr on a new pseudo-terminal
/// (80 columns, as `expectrl` opens it), reads the terminal until the child
/// has exited and closed it, and returns what was written there.
///
/// `TERM` is set so that the run does not depend on the environment the
/// tests run in; `NO_COLOR` is only there when `env` says so.
fn run_on_pty(args: &[&str], env: &[(&str, &str)]) -> PtyRun {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("volley"));
    command
        .args(args)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS");
    for (name, value) in env {
        command.env(name, value);
    }
    let session = expectrl::Session::spawn(command).expect("spawn volley on a pseudo-terminal");
    let pid = session.get_process().pid();
    let (done_tx, done_rx) = mpsc::channel();
    // The reader owns the session: a read blocks until output comes or the
    // terminal closes (EIO on Linux once the child and its copies of the
    // terminal are gone), so it runs beside the deadline below.
    std::thread::spawn(move || {
        let mut session = session;
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match session.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break, // EIO: the other side of the terminal is closed
            }
        }
        let status = session.get_process().wait();
        let _ = done_tx.send((raw, status));
    });
    let Ok((raw, status)) = done_rx.recv_timeout(PTY_LIMIT) else {
        // Ours, by its id: the child started above.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("volley {args:?} on a pseudo-terminal still running after {PTY_LIMIT:?}");
    };
    let code = match status.expect("wait for volley") {
        expectrl::process::unix::WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    };
    PtyRun {
        raw: String::from_utf8_lossy(&raw).into_owned(),
        code,
    }
}

/// Just enough of a VT100 terminal to replay what the progress bar and the
/// summary write (text, CR, LF, backspace, cursor up/down/left/right/column,
/// erase in line and in display, auto-wrap at the right margin), so a test
/// can read the screen as a person would see it once the run is over.
/// Everything else (colours, cursor visibility, other escapes) moves
/// nothing and is ignored.
struct Screen {
    width: usize,
    /// Every line since the start; scrolled-off lines are kept.
    lines: Vec<Vec<char>>,
    /// Whether each line continues the one before (auto-wrapped there).
    wrapped: Vec<bool>,
    row: usize,
    col: usize,
    /// The last column was written: the next character wraps first.
    pending_wrap: bool,
}

impl Screen {
    fn new(width: usize) -> Screen {
        Screen {
            width,
            lines: vec![Vec::new()],
            wrapped: vec![false],
            row: 0,
            col: 0,
            pending_wrap: false,
        }
    }

    /// The screen after `raw` was written to a fresh terminal.
    fn replay(width: usize, raw: &str) -> Screen {
        let mut screen = Screen::new(width);
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' => {
                    if chars.next() == Some('[') {
                        let mut params = String::new();
                        for c in chars.by_ref() {
                            if ('\x40'..='\x7e').contains(&c) {
                                screen.csi(&params, c);
                                break;
                            }
                            params.push(c);
                        }
                    }
                    // Two-character escapes (save/restore cursor, …) do not
                    // occur in volley's output and are skipped.
                }
                '\r' => {
                    screen.col = 0;
                    screen.pending_wrap = false;
                }
                '\n' => screen.line_feed(),
                '\x08' => {
                    screen.col = screen.col.saturating_sub(1);
                    screen.pending_wrap = false;
                }
                c if c.is_control() => {}
                c => screen.put(c),
            }
        }
        screen
    }

    fn line_feed(&mut self) {
        self.row += 1;
        self.pending_wrap = false;
        if self.lines.len() <= self.row {
            self.lines.resize(self.row + 1, Vec::new());
            self.wrapped.resize(self.row + 1, false);
        }
    }

    fn put(&mut self, c: char) {
        if self.pending_wrap {
            self.line_feed();
            self.col = 0;
            self.wrapped[self.row] = true;
        }
        let line = &mut self.lines[self.row];
        if line.len() <= self.col {
            line.resize(self.col + 1, ' ');
        }
        line[self.col] = c;
        if self.col + 1 >= self.width {
            self.pending_wrap = true;
        } else {
            self.col += 1;
        }
    }

    /// A control sequence `ESC [ params final`.
    fn csi(&mut self, params: &str, end: char) {
        let n: usize = params
            .trim_start_matches('?')
            .split(';')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let moves = n.max(1);
        match end {
            'A' => self.row = self.row.saturating_sub(moves),
            'B' => {
                for _ in 0..moves {
                    self.line_feed();
                }
            }
            'C' => self.col = (self.col + moves).min(self.width - 1),
            'D' => self.col = self.col.saturating_sub(moves),
            'G' => self.col = (moves - 1).min(self.width - 1),
            'K' => {
                let line = &mut self.lines[self.row];
                match n {
                    0 => line.truncate(self.col),
                    1 => line
                        .iter_mut()
                        .take(self.col + 1)
                        .for_each(|cell| *cell = ' '),
                    _ => line.clear(),
                }
            }
            'J' => match n {
                0 => {
                    self.lines[self.row].truncate(self.col);
                    self.lines.truncate(self.row + 1);
                    self.wrapped.truncate(self.row + 1);
                }
                _ => self.lines.iter_mut().for_each(Vec::clear),
            },
            _ => return, // SGR ('m'), modes ('h', 'l'): nothing moves
        }
        self.pending_wrap = false;
    }

    /// The lines that hold text, right-trimmed, in order; a line that was
    /// wrapped at the margin is given whole, as a terminal copies it.
    fn text_lines(&self) -> Vec<String> {
        let mut text: Vec<String> = Vec::new();
        for (line, &wrapped) in self.lines.iter().zip(&self.wrapped) {
            let line: String = line.iter().collect();
            match text.last_mut() {
                Some(last) if wrapped => last.push_str(&line),
                _ => text.push(line),
            }
        }
        text.iter_mut()
            .for_each(|line| line.truncate(line.trim_end().len()));
        text.retain(|line| !line.is_empty());
        text
    }
}

#[test]
fn screen_replays_cursor_movement_and_erasure() {
    let screen = Screen::replay(
        10,
        "bar 1/2\r\x1b[2Kbar 2/2\r\n2nd\x1b[1A\r\x1b[J\x1b[33mdone\x1b[0m\r\n0123456789ab",
    );
    assert_eq!(screen.text_lines(), ["done", "0123456789ab"]);
}

/// `n` URLs that each take 20 ms, in a file.
fn slow_urls(testbed: &Testbed, n: usize) -> Input {
    Input::lines((0..n).map(|_| testbed.url("/delay/20")))
}

/// The width `expectrl` gives its terminals.
const PTY_COLUMNS: usize = 80;

#[test]
fn progress_bar_updates_on_a_terminal_and_gives_way_to_the_summary() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 2000);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let mut args = vec![input.path(), "-o", out_arg, "-c", "20"];
    args.extend(FAST);
    let run = run_on_pty(&args, &[]);

    assert_eq!(run.code, Some(0), "terminal output: {:?}", run.raw);
    assert_eq!(read_records(&out).len(), 2000);
    // Drawn and redrawn: every redraw writes the whole bar line again.
    let draws = run.raw.matches("in flight").count();
    assert!(draws >= 2, "the bar was drawn {draws} times: {:?}", run.raw);
    assert!(
        run.raw.matches("/2000").count() >= 2,
        "the bar never showed the total of 2000: {:?}",
        run.raw
    );

    let screen = Screen::replay(PTY_COLUMNS, &run.raw).text_lines();
    assert!(
        screen.iter().all(|line| !line.contains("in flight")),
        "a bar line is left on the screen: {screen:#?}"
    );
    // Only the summary is left, from its first line to its last.
    assert!(
        screen[0].starts_with("volley: 2000 requests in"),
        "{screen:#?}"
    );
    assert!(
        screen
            .last()
            .is_some_and(|line| line.starts_with("volley: retries ")
                && line.contains("retry budget exhausted")),
        "the screen does not end with the summary: {screen:#?}"
    );
    assert!(
        screen.len() >= 4 && screen.iter().all(|line| line.starts_with("volley: ")),
        "the screen is not just the summary: {screen:#?}"
    );
}

#[test]
fn no_progress_text_without_a_terminal() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 300);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let run = run(volley()
        .args([input.path(), "-o", out_arg, "-c", "20"])
        .args(FAST)
        .env("TERM", "xterm-256color"));

    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        !run.stderr.contains("in flight") && !run.stderr.contains('\x1b'),
        "progress text on a pipe: {:?}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].starts_with("volley: 300 requests in")
            && lines.iter().all(|line| line.starts_with("volley: ")),
        "stderr is not just the summary: {:?}",
        run.stderr
    );
}

#[test]
fn quiet_on_a_terminal_shows_neither_bar_nor_summary() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 500);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    let mut args = vec![input.path(), "-o", out_arg, "-c", "20", "--quiet"];
    args.extend(FAST);
    let run = run_on_pty(&args, &[]);

    assert_eq!(run.code, Some(0), "terminal output: {:?}", run.raw);
    assert_eq!(read_records(&out).len(), 500);
    assert_eq!(run.raw.trim(), "", "-q printed on the terminal");
}

#[test]
fn no_color_on_a_terminal_means_no_colour_sequences() {
    let testbed = Testbed::start();
    let input = slow_urls(&testbed, 500);
    let out = input.sibling("out.jsonl");
    let out_arg = out.to_str().expect("UTF-8");
    // A 404 and a refused connection, so that error counts are drawn too.
    let refused = format!("http://{}/x", testbed::closed_port());
    let extra = Input::lines([testbed.url("/status/404"), refused]);
    let mut args = vec![input.path(), extra.path(), "-o", out_arg, "-c", "20"];
    args.extend(FAST);
    let run = run_on_pty(&args, &[("NO_COLOR", "1")]);

    assert_eq!(run.code, Some(1), "terminal output: {:?}", run.raw);
    assert!(run.raw.contains("in flight"), "no bar: {:?}", run.raw);
    // SGR: ESC [ digits and semicolons, then `m`. Cursor movement is fine.
    let mut rest = run.raw.as_str();
    while let Some(at) = rest.find("\x1b[") {
        rest = &rest[at + 2..];
        let params = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        assert!(
            !rest[params..].starts_with('m'),
            "a colour sequence with NO_COLOR=1: {:?}",
            &rest[..(params + 1).min(rest.len())]
        );
    }
}
