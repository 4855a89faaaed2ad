//! Fault injection: an app whose AWS calls of chosen operations fail, as
//! an outage of the dependency would, to test what a request interrupted
//! between two of its steps leaves behind and how it is resumed.

use crate::hooks::{operation_name, Hooked, Hooks};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_smithy_types::config_bag::ConfigBag;
use notify_shared::App;

use super::app_through;
use crate::env::TestEnv;

/// Fails the next calls of chosen operations (e.g. `DeleteSecret`,
/// `BatchWriteItem`) before they leave: the SDK reports a dispatch failure,
/// which the service answers with 503. Or lets them take effect and loses
/// their answer for good, as a timeout after the request landed does.
/// Attach it to the clients of an app with [`Faults::app`].
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<HashMap<String, usize>>>);

impl Faults {
    /// Makes the next `times` calls of `operation` fail.
    pub fn fail(&self, operation: &str, times: usize) {
        self.lock().insert(operation.to_owned(), times);
    }

    /// Makes the next `times` calls of `operation` take effect and then
    /// fail, without a retry: the caller cannot tell that they landed.
    pub fn lose_answer(&self, operation: &str, times: usize) {
        self.lock().insert(answer_lost(operation), times);
    }

    /// Failures of `operation` still to come.
    pub fn pending(&self, operation: &str) -> usize {
        self.lock().get(operation).copied().unwrap_or(0)
    }

    /// The environment's app, with DynamoDB and Secrets Manager clients
    /// that go through these faults (same table, secrets and settings).
    pub fn app(&self, env: &TestEnv) -> App {
        app_through(env, self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The key under which the lost answers of `operation` are counted.
fn answer_lost(operation: &str) -> String {
    format!("{operation} answer")
}

impl Faults {
    /// Counts one fault down; `true` when one was due.
    fn due(&self, fault: &str) -> bool {
        match self.lock().get_mut(fault) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

impl Hooks for Faults {
    fn before_transmit(&self, config: &mut ConfigBag) -> Hooked {
        match operation_name(config) {
            Some(name) if self.due(name) => Err(format!("injected {name} failure").into()),
            _ => Ok(()),
        }
    }

    // An interceptor's error after the answer arrived is not retried.
    fn after_deserialization(&self, config: &mut ConfigBag) -> Hooked {
        match operation_name(config) {
            Some(name) if self.due(&answer_lost(name)) => {
                Err(format!("injected: the answer of {name} was lost").into())
            }
            _ => Ok(()),
        }
    }
}

crate::intercept_with_hooks!(Faults);

/// How long a gate holds a call at most: a test that forgot to open it fails
/// instead of hanging.
const GATE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Holds the first call of one operation until the test opens the gate, to
/// run something else at exactly that point of a request. The held call
/// waits in `block_in_place`: use it from a multi-threaded runtime.
#[derive(Debug, Clone)]
pub struct Gate(Arc<GateState>);

#[derive(Debug)]
struct GateState {
    operation: String,
    /// Whether the held call has arrived, and whether the gate is open.
    state: Mutex<(bool, bool)>,
    opened: std::sync::Condvar,
    reached: tokio::sync::Notify,
}

impl Gate {
    pub fn new(operation: &str) -> Self {
        Self(Arc::new(GateState {
            operation: operation.to_owned(),
            state: Mutex::new((false, false)),
            opened: std::sync::Condvar::new(),
            reached: tokio::sync::Notify::new(),
        }))
    }

    /// The environment's app, its calls going through this gate.
    pub fn app(&self, env: &TestEnv) -> App {
        app_through(env, self.clone())
    }

    /// Waits until the held call has arrived.
    pub async fn reached(&self) {
        self.0.reached.notified().await;
    }

    /// Lets the held call (and every later one) go.
    pub fn open(&self) {
        self.lock().1 = true;
        self.0.opened.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, bool)> {
        self.0
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Hooks for Gate {
    fn before_transmit(&self, config: &mut ConfigBag) -> Hooked {
        if operation_name(config) != Some(self.0.operation.as_str()) {
            return Ok(());
        }
        {
            let mut state = self.lock();
            if state.0 {
                return Ok(());
            }
            state.0 = true;
        }
        // `notify_one` keeps the permit when the test is not waiting yet.
        self.0.reached.notify_one();
        // Blocking a runtime thread would strand the tasks queued on it:
        // hand them to another thread while this call waits.
        tokio::task::block_in_place(|| {
            let deadline = std::time::Instant::now() + GATE_TIMEOUT;
            let mut state = self.lock();
            while !state.1 {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err("the gate was never opened".into());
                }
                state = self
                    .0
                    .opened
                    .wait_timeout(state, left)
                    .map(|(state, _)| state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            Ok(())
        })
    }
}

crate::intercept_with_hooks!(Gate);
