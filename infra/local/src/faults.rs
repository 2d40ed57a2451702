//! Fault injection for reliability tests, never for anything else: drop the next outbox
//! stream records before the relay sees them, as a stream that lost them (or outlived its
//! 24 h retention) would, for the outbox sweeper's test; arm AWS faults in every function's
//! calls (the plan file of `finflow_shared::aws_faults`, which every function process reads
//! through `FINFLOW_FAULTS`); and crash consumers after they ran a batch, as a Lambda that
//! times out or dies would.

use std::path::PathBuf;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use finflow_shared::aws_faults::{FaultPlan, draw};
use serde::{Deserialize, Serialize};

#[derive(Default)]
pub struct FaultSwitch {
    drop_next_stream_records: AtomicU32,
    /// Keys (`pk`) of the stream records dropped so far.
    dropped: Mutex<Vec<String>>,
}

impl FaultSwitch {
    pub fn drop_next_stream_records(&self, count: u32) {
        self.drop_next_stream_records.store(count, Ordering::SeqCst);
    }

    /// (still armed, keys dropped so far)
    pub fn stream_status(&self) -> (u32, Vec<String>) {
        (
            self.drop_next_stream_records.load(Ordering::SeqCst),
            self.dropped.lock().expect("not poisoned").clone(),
        )
    }

    /// Whether to drop the new stream record of `key`; each armed drop is taken once.
    pub fn take_stream_drop(&self, key: &str) -> bool {
        let took = self
            .drop_next_stream_records
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if took {
            self.dropped
                .lock()
                .expect("not poisoned")
                .push(key.to_owned());
        }
        took
    }
}

/// The AWS fault plan every function this runner runs reads (`FINFLOW_FAULTS`).
pub struct AwsFaults {
    pub plan_file: PathBuf,
}

impl AwsFaults {
    /// Starts disarmed: a plan left by an earlier run never leaks into this one.
    pub fn new(plan_file: PathBuf) -> std::io::Result<Self> {
        match std::fs::remove_file(&plan_file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        Ok(AwsFaults { plan_file })
    }

    /// Writes the plan whole, then renames it into place, so no function reads half of it.
    pub fn arm(&self, plan: &FaultPlan) -> std::io::Result<()> {
        let staging = self.plan_file.with_extension("json.tmp");
        std::fs::write(
            &staging,
            serde_json::to_vec_pretty(plan).expect("plans serialize"),
        )?;
        std::fs::rename(staging, &self.plan_file)
    }

    pub fn disarm(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.plan_file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    pub fn plan(&self) -> Option<FaultPlan> {
        let text = std::fs::read_to_string(&self.plan_file).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// How often a consumer crashes after running a batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CrashPlan {
    pub seed: u64,
    pub crash_probability: f64,
}

/// Consumer crashes: the batch ran, its answer is lost, nothing is deleted, and SQS delivers
/// it again after the visibility timeout, as after a Lambda that timed out.
#[derive(Default)]
pub struct ConsumerCrashes {
    plan: Mutex<Option<CrashPlan>>,
    batches: AtomicU32,
    crashed: AtomicU32,
}

impl ConsumerCrashes {
    pub fn arm(&self, plan: Option<CrashPlan>) {
        *self.plan.lock().expect("not poisoned") = plan;
    }

    /// (plan, crashes injected so far)
    pub fn status(&self) -> (Option<CrashPlan>, u32) {
        (
            *self.plan.lock().expect("not poisoned"),
            self.crashed.load(Ordering::SeqCst),
        )
    }

    /// Whether `function`'s batch that just ran crashes.
    pub fn crash_now(&self, function: &str) -> bool {
        let Some(plan) = *self.plan.lock().expect("not poisoned") else {
            return false;
        };
        let batch = u64::from(self.batches.fetch_add(1, Ordering::SeqCst));
        let crash = draw(plan.seed, function, batch) < plan.crash_probability;
        if crash {
            self.crashed.fetch_add(1, Ordering::SeqCst);
        }
        crash
    }
}
