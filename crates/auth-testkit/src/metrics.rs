//! A metrics recorder for tests: it counts the handles registered and what each series was given
//! through them (use it with `metrics::with_local_recorder`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Counts registrations, and the sum given to each counter series and the samples recorded in
/// each histogram series, named `name{label=value,...}`.
#[derive(Debug, Default)]
pub struct CountingRecorder {
    registered: AtomicUsize,
    totals: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CountingRecorder {
    /// How many handles were registered so far.
    #[must_use]
    pub fn registered(&self) -> usize {
        self.registered.load(Ordering::Relaxed)
    }

    /// What the series `name{label=value,...}` was given (0 when never).
    #[must_use]
    pub fn total(&self, series: &str) -> u64 {
        let totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        totals.get(series).copied().unwrap_or_default()
    }

    fn series(&self, key: &Key) -> Arc<Series> {
        self.registered.fetch_add(1, Ordering::Relaxed);
        let labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        Arc::new(Series {
            name: format!("{}{{{}}}", key.name(), labels.join(",")),
            totals: self.totals.clone(),
        })
    }
}

/// One series' handle.
struct Series {
    name: String,
    totals: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Series {
    fn add(&self, amount: u64) {
        let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        *totals.entry(self.name.clone()).or_default() += amount;
    }
}

impl metrics::CounterFn for Series {
    fn increment(&self, value: u64) {
        self.add(value);
    }

    fn absolute(&self, _value: u64) {}
}

impl metrics::HistogramFn for Series {
    fn record(&self, _value: f64) {
        self.add(1);
    }
}

impl Recorder for CountingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.series(key))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.series(key))
    }
}
