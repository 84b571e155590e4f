//! Logging and tracing setup. Log lines carry ids and codes, never
//! personnummer, names or addresses (those never reach a `tracing` field).

use crate::config::TelemetryConfig;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber. Safe to call more than once (later calls
/// are no-ops), so tests and the CLI can both call it.
pub fn init(cfg: &TelemetryConfig) {
    let filter = EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if cfg.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Some(endpoint) = &cfg.otlp_endpoint {
        tracing::warn!(%endpoint, "OTLP export is configured but not built into this binary yet");
    }
}
