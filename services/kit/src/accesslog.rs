//! The gateway's access log: one line per REST request, written straight
//! into the log sink ([`crate::logwriter`]) in the layout the `tracing` fmt
//! layer gives the same event (text or JSON), so the log reads as one.
//!
//! A line through `tracing`'s generic event machinery cost ~2 µs per request
//! (field visitors, `Debug` formatting, timestamp formatting); this costs a
//! fraction of that. Where the sink is not ours (no subscriber installed by
//! [`crate::telemetry::init`], or colour on a terminal) the line goes
//! through `tracing` as before. The `access` target's level still decides
//! whether a line is written (`SAMLING_LOG=warn,access=info`).

use crate::logwriter::BatchedWriter;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::SystemTime;

/// One request, as the access log records it: only the route template,
/// never the URL, ids, bodies or query strings.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub role: &'a str,
    pub status: u16,
    pub us: u64,
}

struct Sink {
    writer: BatchedWriter,
    json: bool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Called by `telemetry::init` once its subscriber is the global one.
pub(crate) fn install(writer: BatchedWriter, json: bool) {
    let _ = SINK.set(Sink { writer, json });
}

/// Write the access line of one request (if the `access` target logs INFO).
pub fn record(a: Access<'_>) {
    if !tracing::enabled!(target: "access", tracing::Level::INFO) {
        return;
    }
    let Some(sink) = SINK.get() else {
        through_tracing(&a);
        return;
    };
    LINE.with_borrow_mut(|line| {
        line.clear();
        format_line(line, SystemTime::now(), &a, sink.json);
        sink.writer.append(line.as_bytes());
    });
}

/// The same line as a `tracing` event (the fmt layer formats it).
fn through_tracing(a: &Access<'_>) {
    tracing::info!(
        target: "access",
        method = %a.method,
        route = %a.route,
        role = %a.role,
        status = a.status,
        us = a.us,
        "request"
    );
}

thread_local! {
    static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    /// The last whole second formatted, and its `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

/// `2026-11-24T03:40:04.572306Z`, as tracing-subscriber's `SystemTime` timer.
fn timestamp(out: &mut String, now: SystemTime) {
    let d = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            text.clear();
            let dt = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            let _ = write!(text, "{}", dt.format("%Y-%m-%dT%H:%M:%S"));
            *cached = secs;
        }
        out.push_str(text);
    });
    let _ = write!(out, ".{:06}Z", d.subsec_micros());
}

/// The line tracing-subscriber's fmt layer writes for the same event:
/// text (`Full` format, no colour) or JSON (its default JSON fields).
fn format_line(out: &mut String, now: SystemTime, a: &Access<'_>, json: bool) {
    if json {
        out.push_str("{\"timestamp\":\"");
        timestamp(out, now);
        out.push_str("\",\"level\":\"INFO\",\"fields\":{\"message\":\"request\",\"method\":");
        json_str(out, a.method);
        out.push_str(",\"route\":");
        json_str(out, a.route);
        out.push_str(",\"role\":");
        json_str(out, a.role);
        let _ = write!(
            out,
            ",\"status\":{},\"us\":{}}},\"target\":\"access\"}}",
            a.status, a.us
        );
    } else {
        timestamp(out, now);
        let _ = write!(
            out,
            "  INFO access: request method={} route={} role={} status={} us={}",
            a.method, a.route, a.role, a.status, a.us
        );
    }
    out.push('\n');
}

/// A JSON string literal (the values are route templates and names, but
/// escape anyway: a log line must stay one parseable line).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const REQUEST: Access<'static> = Access {
        method: "GET",
        route: "/v1/regions/{region}/homes/{home_id}",
        role: "regional_officer",
        status: 200,
        us: 1076,
    };

    /// What tracing-subscriber's fmt layer writes for the access event at `at`.
    fn fmt_layer_line(at: SystemTime, json: bool) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        struct At(SystemTime);
        impl tracing_subscriber::fmt::time::FormatTime for At {
            fn format_time(
                &self,
                w: &mut tracing_subscriber::fmt::format::Writer<'_>,
            ) -> std::fmt::Result {
                let mut s = String::new();
                timestamp(&mut s, self.0);
                w.write_str(&s)
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let make = move || buf.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_timer(At(at))
            .with_writer(make);
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if json {
            Box::new(tracing_subscriber::registry().with(layer.json()))
        } else {
            Box::new(tracing_subscriber::registry().with(layer))
        };
        tracing::subscriber::with_default(subscriber, || through_tracing(&REQUEST));
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let at = |s: u64, us: u64| {
            let mut out = String::new();
            timestamp(
                &mut out,
                SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_micros(us),
            );
            out
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29 (a leap day) 23:59:59, then the next second.
        assert_eq!(at(1_709_251_199, 999_999), "2024-02-29T23:59:59.999999Z");
        assert_eq!(at(1_709_251_200, 7), "2024-03-01T00:00:00.000007Z");
        // The cached second is not reused for another second.
        assert_eq!(at(1_795_491_604, 572_306), "2026-11-24T03:40:04.572306Z");
        assert_eq!(at(1_795_491_605, 1), "2026-11-24T03:40:05.000001Z");
    }

    #[test]
    fn a_line_is_what_the_tracing_fmt_layer_writes_for_the_same_event() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_491_604_572_306);
        for json in [false, true] {
            let mut mine = String::new();
            format_line(&mut mine, now, &REQUEST, json);
            assert_eq!(mine, fmt_layer_line(now, json), "json: {json}");
        }
        let mut line = String::new();
        format_line(&mut line, now, &REQUEST, true);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["fields"]["route"], REQUEST.route);
        assert_eq!(v["fields"]["us"], 1076);
    }

    #[test]
    fn json_strings_are_escaped_to_stay_one_line() {
        let mut out = String::new();
        json_str(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, "a\"b\\c\nd\u{1}");
    }
}
