//! Where metric lines go: stdout in a function (Lambda sends every stdout
//! line to CloudWatch Logs, which extracts the metrics of EMF lines), or a
//! buffer a test reads.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Stdout, or (tests) a shared buffer of lines.
#[derive(Debug, Clone, Default)]
pub struct MetricsSink {
    captured: Option<Arc<Mutex<Vec<String>>>>,
}

impl MetricsSink {
    pub fn stdout() -> Self {
        Self::default()
    }

    /// Keeps every line in memory (see [`Self::captured`]).
    pub fn memory() -> Self {
        Self {
            captured: Some(Arc::default()),
        }
    }

    /// Writes `line` as one whole line. On stdout it is one `write_all`
    /// under the stdout lock, as `tracing`'s events are: the two never
    /// interleave within a line.
    pub fn write(&self, line: &str) {
        match &self.captured {
            Some(lines) => lines
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(line.to_owned()),
            None => {
                let mut bytes = Vec::with_capacity(line.len() + 1);
                bytes.extend_from_slice(line.as_bytes());
                bytes.push(b'\n');
                let mut stdout = std::io::stdout().lock();
                // Metrics are best effort: a closed stdout loses them, as it
                // would lose the logs.
                let _ = stdout.write_all(&bytes).and_then(|()| stdout.flush());
            }
        }
    }

    /// The lines a [`Self::memory`] sink kept (none for stdout).
    pub fn captured(&self) -> Vec<String> {
        self.captured
            .as_ref()
            .map(|lines| {
                lines
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone()
            })
            .unwrap_or_default()
    }
}
