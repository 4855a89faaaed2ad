//! One delivery call's pushes, counted by provider and outcome, as EMF
//! lines: one line per provider and outcome that occurred (an EMF document
//! has one value per dimension), so a wave of any size writes at most 12.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::emf::{self, EmfLine, MAX_VALUES};
use super::{
    directive, millis, provider_name, CREDENTIAL_FAILURES, OUTCOME, OUTCOMES, PROVIDER,
    PROVIDER_LATENCY, PUSHES, TENANT_PROPERTY,
};
use crate::model::PushProvider;
use crate::push::{DeliveryOutcome, TargetResult};

/// The `Outcome` value of `outcome`: the contract's words (`removed` is a
/// dead token, pruned).
pub fn outcome_name(outcome: &DeliveryOutcome) -> &'static str {
    match outcome {
        DeliveryOutcome::Delivered => OUTCOMES[0],
        DeliveryOutcome::DeadToken(_) => OUTCOMES[1],
        DeliveryOutcome::Failed(_) => OUTCOMES[2],
        DeliveryOutcome::Transient(_) => OUTCOMES[3],
    }
}

/// Pushes of one provider with one outcome.
#[derive(Debug, Clone, Default, PartialEq)]
struct Cell {
    pushes: u64,
    credential_failures: u64,
    latencies_ms: Vec<f64>,
}

/// A delivery call's pushes by provider and outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushMetrics {
    cells: BTreeMap<(&'static str, &'static str), Cell>,
}

impl PushMetrics {
    /// `providers[i]` delivered `results[i]`, its request taking
    /// `latencies[i]` (`None`: no request was sent).
    pub fn of(
        providers: impl IntoIterator<Item = PushProvider>,
        results: &[TargetResult],
        latencies: &[Option<Duration>],
    ) -> Self {
        let mut metrics = Self::default();
        let latencies = latencies.iter().copied().chain(std::iter::repeat(None));
        for ((provider, result), latency) in providers.into_iter().zip(results).zip(latencies) {
            let key = (provider_name(provider), outcome_name(&result.outcome));
            let cell = metrics.cells.entry(key).or_default();
            cell.pushes += 1;
            cell.credential_failures += u64::from(result.outcome.is_credential_failure());
            cell.latencies_ms.extend(latency.map(millis));
        }
        metrics
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The lines: `Pushes` by provider and outcome; beside it on the same
    /// line, by provider alone, the provider latencies of those pushes (at
    /// most [`MAX_VALUES`], spread over the distribution: see [`spread`])
    /// and the credential failures among them.
    pub fn lines(&self, namespace: &str, tenant_id: &str, timestamp_ms: u64) -> Vec<EmfLine> {
        self.cells
            .iter()
            .map(|((provider, outcome), cell)| {
                let mut values = BTreeMap::from([(PUSHES.to_owned(), vec![count(cell.pushes)])]);
                let mut by_provider = Vec::new();
                if !cell.latencies_ms.is_empty() {
                    values.insert(
                        PROVIDER_LATENCY.to_owned(),
                        spread(cell.latencies_ms.clone()),
                    );
                    by_provider.push((PROVIDER_LATENCY, emf::MILLISECONDS));
                }
                if cell.credential_failures > 0 {
                    values.insert(
                        CREDENTIAL_FAILURES.to_owned(),
                        vec![count(cell.credential_failures)],
                    );
                    by_provider.push((CREDENTIAL_FAILURES, emf::COUNT));
                }
                let mut directives = vec![directive(
                    namespace,
                    &[PROVIDER, OUTCOME],
                    &[(PUSHES, emf::COUNT)],
                )];
                if !by_provider.is_empty() {
                    directives.push(directive(namespace, &[PROVIDER], &by_provider));
                }
                EmfLine {
                    timestamp_ms,
                    directives,
                    dimensions: BTreeMap::from([
                        (PROVIDER.to_owned(), (*provider).to_owned()),
                        (OUTCOME.to_owned(), (*outcome).to_owned()),
                    ]),
                    values,
                    properties: BTreeMap::from([(
                        TENANT_PROPERTY.to_owned(),
                        Value::from(tenant_id),
                    )]),
                }
            })
            .collect()
    }
}

fn count(n: u64) -> f64 {
    // Exact up to 2^53 pushes in one call.
    n as f64
}

/// At most [`MAX_VALUES`] values that keep the distribution: sorted, and
/// when there are more, evenly spaced ranks from the smallest to the
/// largest, so that each kept value stands for as many as any other and
/// the percentiles CloudWatch computes from them stay close (the maximum
/// is always kept).
pub(super) fn spread(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n <= MAX_VALUES {
        return values;
    }
    (0..MAX_VALUES)
        .map(|i| values[i * (n - 1) / (MAX_VALUES - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::DeliveryOutcome as O;

    fn result(outcome: DeliveryOutcome) -> TargetResult {
        TargetResult {
            outcome,
            attempts: 1,
            retry_after: None,
        }
    }

    fn lines_of(providers: &[PushProvider], outcomes: &[O], latency_ms: u64) -> Vec<EmfLine> {
        let results: Vec<TargetResult> = outcomes.iter().cloned().map(result).collect();
        let latencies = vec![Some(Duration::from_millis(latency_ms)); results.len()];
        PushMetrics::of(providers.iter().copied(), &results, &latencies)
            .lines("Notify", "tnt_abc", 1)
    }

    fn line<'a>(lines: &'a [EmfLine], provider: &str, outcome: &str) -> &'a EmfLine {
        lines
            .iter()
            .find(|l| l.dimensions[PROVIDER] == provider && l.dimensions[OUTCOME] == outcome)
            .unwrap_or_else(|| panic!("no {provider}/{outcome} line in {lines:?}"))
    }

    #[test]
    fn pushes_are_counted_by_provider_and_outcome_with_the_tenant_as_a_property() {
        let lines = lines_of(
            &[
                PushProvider::Apns,
                PushProvider::Apns,
                PushProvider::Fcm,
                PushProvider::WebPush,
            ],
            &[
                O::Delivered,
                O::Delivered,
                O::DeadToken("UNREGISTERED".into()),
                O::Failed("webpush status 403: VAPID authorization refused".into()),
            ],
            20,
        );
        assert_eq!(lines.len(), 3);
        assert_eq!(line(&lines, "apns", "delivered").values[PUSHES], vec![2.0]);
        assert_eq!(line(&lines, "fcm", "removed").values[PUSHES], vec![1.0]);
        let refused = line(&lines, "webpush", "failed");
        assert_eq!(refused.values[CREDENTIAL_FAILURES], vec![1.0]);
        for line in &lines {
            assert_eq!(line.problem(), None, "{line:?}");
            assert_eq!(line.properties[TENANT_PROPERTY], "tnt_abc");
            let text = line.to_json();
            // Every metric present is in a directive, and no dimension set
            // names the tenant.
            let parsed = EmfLine::parse(&text).and_then(Result::ok);
            assert_eq!(parsed.as_ref(), Some(line), "{text}");
            for directive in &line.directives {
                assert!(!directive.keys(TENANT_PROPERTY), "{text}");
                assert!(directive.dimensions.iter().all(|set| set.len() <= 2));
            }
        }
        assert!(!line(&lines, "apns", "delivered")
            .values
            .contains_key(CREDENTIAL_FAILURES));
    }

    #[test]
    fn latency_is_by_provider_and_absent_when_no_request_was_sent() {
        let results = vec![result(O::Failed("apns not configured for tenant".into()))];
        let lines =
            PushMetrics::of([PushProvider::Apns], &results, &[None]).lines("Notify", "t", 1);
        assert_eq!(lines.len(), 1);
        assert!(!lines[0].values.contains_key(PROVIDER_LATENCY));
        assert_eq!(lines[0].directives.len(), 1);
        assert_eq!(lines[0].problem(), None);

        let lines = lines_of(&[PushProvider::Fcm], &[O::Delivered], 35);
        assert_eq!(lines[0].values[PROVIDER_LATENCY], vec![35.0]);
        let by_provider = &lines[0].directives[1];
        assert_eq!(by_provider.dimensions, vec![vec![PROVIDER.to_owned()]]);
        assert!(by_provider.names(PROVIDER_LATENCY));
    }

    #[test]
    fn ten_thousand_pushes_make_one_line_of_at_most_100_latencies_keeping_the_extremes() {
        let n = 10_000;
        let results = vec![result(O::Delivered); n];
        let latencies: Vec<Option<Duration>> = (1..=n as u64)
            .map(|ms| Some(Duration::from_millis(ms)))
            .collect();
        let lines = PushMetrics::of(std::iter::repeat(PushProvider::Apns), &results, &latencies)
            .lines("Notify", "t", 1);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].values[PUSHES], vec![10_000.0]);
        let kept = &lines[0].values[PROVIDER_LATENCY];
        assert_eq!(kept.len(), MAX_VALUES);
        assert_eq!(kept.first(), Some(&1.0));
        assert_eq!(kept.last(), Some(&10_000.0));
        // The median of the kept values is the median of all, within 1%.
        let median = (kept[49] + kept[50]) / 2.0;
        assert!((median - 5_000.0).abs() < 100.0, "{median}");
        assert!(lines[0].to_json().len() < 2_000);
    }
}
