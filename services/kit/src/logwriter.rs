//! The log sink: request threads append formatted lines to a shared buffer
//! (a short mutex hold, no syscall, no wake-up) and one background thread
//! writes the buffer out every [`FLUSH_EVERY`] or as soon as it passes
//! [`WAKE_AT`] bytes. A line per request (the gateway's access log) thus
//! costs neither a write syscall nor a thread wake-up on the request path;
//! a per-line channel (tracing-appender) cost both.
//!
//! Bounded: past [`MAX_PENDING`] unwritten bytes new lines are dropped and
//! counted, and the count is reported in the log once the writer catches up.
//! Dropping the [`LogGuard`] writes what is pending.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a line may wait in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Pending bytes that wake the writer early.
pub const WAKE_AT: usize = 256 * 1024;
/// Pending bytes past which lines are dropped (a stalled stderr must not
/// grow memory without bound).
pub const MAX_PENDING: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    dropped: u64,
    closed: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

/// `MakeWriter` for the fmt layer: each event is appended whole.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Stops the background writer after writing what is pending.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A batched writer over `out` and the guard that flushes it on drop.
pub fn batched<W: Write + Send + 'static>(out: W) -> (BatchedWriter, LogGuard) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
    });
    let bg = shared.clone();
    let thread = std::thread::Builder::new()
        .name("samling-log".into())
        .spawn(move || run(bg, out))
        .ok();
    (
        BatchedWriter {
            shared: shared.clone(),
        },
        LogGuard { shared, thread },
    )
}

fn run<W: Write>(shared: Arc<Shared>, mut out: W) {
    let mut spare = Vec::new();
    loop {
        let (closed, dropped) = {
            let mut p = shared.pending.lock().unwrap_or_else(|e| e.into_inner());
            if p.buf.len() < WAKE_AT && !p.closed {
                p = shared
                    .wake
                    .wait_timeout(p, FLUSH_EVERY)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            std::mem::swap(&mut p.buf, &mut spare);
            (p.closed, std::mem::take(&mut p.dropped))
        };
        if !spare.is_empty() {
            let _ = out.write_all(&spare);
        }
        if dropped > 0 {
            let _ = writeln!(
                out,
                "samling-log: {dropped} log lines dropped (log output could not keep up)"
            );
        }
        let _ = out.flush();
        spare.clear();
        if spare.capacity() > 4 * WAKE_AT {
            spare.shrink_to(WAKE_AT);
        }
        if closed {
            return;
        }
    }
}

impl BatchedWriter {
    pub(crate) fn append(&self, bytes: &[u8]) {
        let mut p = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if p.closed {
            drop(p);
            let _ = std::io::stderr().write_all(bytes);
            return;
        }
        if p.buf.len() + bytes.len() > MAX_PENDING {
            p.dropped += 1;
            return;
        }
        let before = p.buf.len();
        p.buf.extend_from_slice(bytes);
        if before < WAKE_AT && p.buf.len() >= WAKE_AT {
            self.shared.wake.notify_one();
        }
    }
}

impl Write for BatchedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.append(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedWriter {
    type Writer = BatchedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_in_few_writes_and_the_guard_flushes() {
        let sink = Sink::default();
        let (w, guard) = batched(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        w.write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let (bytes, writes) = sink.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4000, "every line is written once");
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..1000).collect::<Vec<_>>(), "in order, unbroken");
        }
        assert!(writes < 400, "batched: {writes} writes for 4000 lines");
    }

    #[test]
    fn a_line_waits_at_most_about_one_flush_interval() {
        let sink = Sink::default();
        let (mut w, _guard) = batched(sink.clone());
        w.write_all(b"hello\n").unwrap();
        let deadline = std::time::Instant::now() + FLUSH_EVERY * 20;
        while sink.0.lock().unwrap().0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never flushed");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.0.lock().unwrap().0, b"hello\n");
    }
}
