//! JSON logs through `tracing`, as Lambda's JSON `LoggingConfig` expects.
//!
//! The configured level (`LogLevel` in `template.yaml`, which Lambda hands
//! over as `AWS_LAMBDA_LOG_LEVEL`) applies to our own crates only. Every
//! dependency is pinned at a ceiling that no configured level can raise,
//! because at DEBUG and TRACE our dependencies log exactly what must never
//! reach CloudWatch (read in their sources, versions of `Cargo.lock`):
//!
//! | target | what it logs, at which level |
//! |---|---|
//! | `lambda_runtime::layers::api_response` | TRACE: every raw invocation event (`body`): all request headers, `X-API-Key` and `Authorization: Bearer` included, and the request body (`.p8` and service-account keys, push bodies) |
//! | `lambda_runtime::requests` | TRACE: the streaming response's metadata prelude (response headers) |
//! | `lambda_runtime::runtime`, `::layers::trace` | INFO: the per-invocation span (`requestId`, `xrayTraceId`) our events nest in, and the observed request id; DEBUG: worker-pool settings |
//! | `aws_smithy_runtime::client::orchestrator` (and `::http`) | TRACE: every SDK request and response (`request = ?..`, `response = ?..`): DynamoDB items, the `SecretString` of Secrets Manager answers, SQS message bodies |
//! | `aws_sigv4::http_request::sign` | TRACE: the request being signed and the string to sign |
//! | `aws_runtime`, `aws_smithy_http`, `aws_smithy_http_client`, `aws_smithy_runtime_api`, `aws_config` | TRACE/DEBUG: body chunks, event-stream messages, credential-provider details |
//! | `h2` | DEBUG: every HTTP/2 frame sent and received (our APNs/FCM and provider connections); TRACE: HPACK and flow-control detail |
//! | `hyper_util` | TRACE: connection pool and connect details (`hyper` 1.x itself only logs under `--cfg hyper_unstable_tracing`, which we do not set) |
//!
//! `rustls`, `a2`, `jsonwebtoken` and `reqwest` log through the `log` crate,
//! which nothing here forwards to `tracing` (no `tracing-log`): they stay
//! silent whatever the level.
//!
//! Hence: every target that is not one of our crates is capped at WARN, and
//! `lambda_runtime` at INFO (its INFO span carries the request id our events
//! are logged under; nothing secret is logged at INFO or above). A lower
//! configured level (ERROR) lowers the caps with it. `RUST_LOG` is read only
//! as a level, never as directives, so it cannot lift a cap either.

use tracing::Subscriber;
use tracing_subscriber::filter::{Directive, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The shared crate's `tracing` target. It and the binary's own crate
/// (named by the binary, see [`init_for`]) follow the configured level.
pub const SHARED_TARGET: &str = "notify_shared";

/// The most any dependency may log (see the module docs).
pub const DEPENDENCY_CEILING: LevelFilter = LevelFilter::WARN;

/// Dependencies whose ceiling differs from [`DEPENDENCY_CEILING`], and why.
pub const PINNED_TARGETS: &[(&str, LevelFilter)] = &[
    // INFO: the invoke span with `requestId`; TRACE: raw events.
    ("lambda_runtime", LevelFilter::INFO),
    // Listed for the record: the prefix `lambda_runtime` would match it.
    ("lambda_runtime_api_client", LevelFilter::WARN),
    ("lambda_http", LevelFilter::WARN),
    ("aws_smithy_runtime", LevelFilter::WARN),
    ("aws_smithy_runtime_api", LevelFilter::WARN),
    ("aws_smithy_http", LevelFilter::WARN),
    ("aws_smithy_http_client", LevelFilter::WARN),
    ("aws_sigv4", LevelFilter::WARN),
    ("aws_runtime", LevelFilter::WARN),
    ("aws_config", LevelFilter::WARN),
    ("h2", LevelFilter::WARN),
    ("hyper", LevelFilter::WARN),
    ("hyper_util", LevelFilter::WARN),
];

/// The level from Lambda's `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO, WARN,
/// ERROR or FATAL), else `RUST_LOG` read as a plain level, else INFO.
/// Anything else (a directive list, a typo) counts as absent.
pub fn configured_level(lambda_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    lambda_level
        .and_then(parse_level)
        .or_else(|| rust_log.and_then(parse_level))
        .unwrap_or(LevelFilter::INFO)
}

fn parse_level(text: &str) -> Option<LevelFilter> {
    match text.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::TRACE),
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" | "warning" => Some(LevelFilter::WARN),
        // `tracing` has no FATAL: its most severe level is ERROR.
        "error" | "fatal" => Some(LevelFilter::ERROR),
        "off" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// The production filter for a configured level: the shared crate and
/// `own_target` (the binary's crate) at `level`, every dependency at the
/// less verbose of `level` and its ceiling.
pub fn filter(level: LevelFilter, own_target: &str) -> EnvFilter {
    let capped = |ceiling: LevelFilter| std::cmp::min(level, ceiling);
    let mut filter = EnvFilter::builder()
        .with_default_directive(Directive::from(capped(DEPENDENCY_CEILING)))
        .parse_lossy("");
    let own = [(SHARED_TARGET, level), (own_target, level)].into_iter();
    let pinned = PINNED_TARGETS
        .iter()
        .map(|(target, ceiling)| (*target, capped(*ceiling)));
    for (target, level) in own.chain(pinned) {
        // Crate names and our own constants: always a valid directive.
        if let Ok(directive) = format!("{target}={level}").parse::<Directive>() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// The production subscriber: JSON lines to `writer`, filtered by `filter`.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout at the configured level (see
/// [`configured_level`] and [`filter`]). `own_target` is the calling
/// binary's crate, so that its events follow the level too: pass
/// `env!("CARGO_CRATE_NAME")`, which needs no list to keep up to date.
pub fn init_for(own_target: &str) {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let level = configured_level(lambda_level.as_deref(), rust_log.as_deref());
    // A second init (tests, tools) is harmless: keep the first subscriber.
    let filter = filter(level, own_target);
    let _ = tracing::subscriber::set_global_default(subscriber(filter, std::io::stdout));
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing::Level;

    use super::*;

    /// A writer into a shared buffer, one `make_writer` per event.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<serde_json::Value> {
            let bytes = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(|line| serde_json::from_str(line).unwrap_or(serde_json::Value::Null))
                .collect()
        }
    }

    /// What a subscriber built with the production filter at `level` writes
    /// while `emit` runs.
    fn logged_at(level: LevelFilter, emit: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let filter = filter(level, "notify_send");
        tracing::subscriber::with_default(subscriber(filter, buffer.clone()), emit);
        let lines = buffer.lines();
        assert!(lines.iter().all(|line| line.is_object()), "{lines:?}");
        serde_json::Value::Array(lines).to_string()
    }

    const SECRET: &str = "msk_live_SECRETSECRETSECRET";

    /// The events our dependencies emit with secrets in them, at their
    /// exact targets and levels.
    fn dependency_events() {
        tracing::event!(target: "lambda_runtime::layers::api_response", Level::TRACE,
            body = SECRET, "raw JSON event received from Lambda");
        tracing::event!(target: "lambda_runtime::requests", Level::TRACE,
            metadata_prelude = SECRET);
        tracing::event!(target: "lambda_runtime::runtime", Level::DEBUG, detail = SECRET);
        tracing::event!(target: "aws_smithy_runtime::client::orchestrator", Level::TRACE,
            request = SECRET, "transmitting request");
        tracing::event!(target: "aws_smithy_runtime::client::orchestrator", Level::TRACE,
            response = SECRET, "received response from service");
        tracing::event!(target: "aws_smithy_runtime::client::orchestrator::http", Level::TRACE,
            response = SECRET, "read HTTP response body");
        tracing::event!(target: "aws_sigv4::http_request::sign", Level::TRACE,
            request = SECRET, "signing request");
        tracing::event!(target: "aws_runtime::content_encoding::body::http_body_1_x",
            Level::TRACE, chunk = SECRET);
        tracing::event!(target: "aws_config::profile::credentials", Level::DEBUG, creds = SECRET);
        tracing::event!(target: "h2::codec::framed_write", Level::DEBUG, frame = SECRET, "send");
        tracing::event!(target: "h2::codec::framed_read", Level::DEBUG, frame = SECRET, "received");
        tracing::event!(target: "hyper_util::client::legacy::client", Level::TRACE,
            detail = SECRET);
        tracing::event!(target: "some_future_dependency", Level::INFO, detail = SECRET);
    }

    #[test]
    fn at_trace_our_events_are_logged_but_dependencies_log_no_events_bodies_or_headers() {
        let logged = logged_at(LevelFilter::TRACE, || {
            tracing::trace!(target: "notify_shared::service::sending", marker = "ours-trace");
            tracing::trace!(marker = "ours-test-module");
            tracing::trace!(target: "notify_send", marker = "function-trace");
            dependency_events();
        });
        assert!(logged.contains("ours-trace"), "{logged}");
        assert!(logged.contains("ours-test-module"), "{logged}");
        assert!(logged.contains("function-trace"), "{logged}");
        assert!(!logged.contains(SECRET), "{logged}");
    }

    #[test]
    fn no_configured_level_lets_a_dependency_log_a_secret() {
        for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] {
            let logged = logged_at(configured_level(Some(level), None), dependency_events);
            assert!(!logged.contains(SECRET), "{level}: {logged}");
        }
    }

    #[test]
    fn dependency_warnings_and_the_runtime_request_span_are_kept() {
        let logged = logged_at(LevelFilter::INFO, || {
            tracing::warn!(target: "aws_smithy_runtime::client::orchestrator", marker = "sdk-warn");
            let span = tracing::info_span!(target: "lambda_runtime::layers::trace",
                "Lambda runtime invoke", requestId = "req-42");
            span.in_scope(|| tracing::info!(target: "notify_shared::http", marker = "ours"));
        });
        assert!(logged.contains("sdk-warn"), "{logged}");
        assert!(logged.contains("req-42"), "{logged}");
        assert!(logged.contains("ours"), "{logged}");
    }

    #[test]
    fn error_silences_our_info_and_dependency_warnings_alike() {
        let logged = logged_at(LevelFilter::ERROR, || {
            tracing::info!(target: "notify_shared::http", marker = "ours-info");
            tracing::warn!(target: "h2::proto", marker = "dep-warn");
            tracing::error!(target: "notify_shared::http", marker = "ours-error");
        });
        assert!(!logged.contains("ours-info"), "{logged}");
        assert!(!logged.contains("dep-warn"), "{logged}");
        assert!(logged.contains("ours-error"), "{logged}");
    }

    #[test]
    fn levels_come_from_lambda_then_rust_log_and_directives_are_ignored() {
        assert_eq!(configured_level(Some("TRACE"), None), LevelFilter::TRACE);
        assert_eq!(configured_level(Some("FATAL"), None), LevelFilter::ERROR);
        assert_eq!(configured_level(None, Some("debug")), LevelFilter::DEBUG);
        assert_eq!(
            configured_level(None, Some("aws_smithy_runtime=trace")),
            LevelFilter::INFO
        );
        assert_eq!(configured_level(Some("loud"), None), LevelFilter::INFO);
        assert_eq!(configured_level(None, None), LevelFilter::INFO);
    }

    #[test]
    fn every_function_names_its_own_crate_as_its_target() {
        let functions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
        let entries = std::fs::read_dir(&functions)
            .unwrap_or_else(|err| panic!("listing {}: {err}", functions.display()));
        let mut wrong = Vec::new();
        for entry in entries.flatten() {
            let main = entry.path().join("src/main.rs");
            let Ok(text) = std::fs::read_to_string(&main) else {
                continue;
            };
            if !text.contains(r#"telemetry::init_for(env!("CARGO_CRATE_NAME"))"#) {
                wrong.push(main.display().to_string());
            }
        }
        assert!(
            wrong.is_empty(),
            "call telemetry::init_for(env!(\"CARGO_CRATE_NAME\")) in {wrong:?}"
        );
    }
}
