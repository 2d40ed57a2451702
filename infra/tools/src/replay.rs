//! `finflow replay <projection>`: rebuilds a projection from the EventBridge archive into its
//! rebuild table and compares it with the live one, field by field.
//!
//! 1. The rebuild queue must be idle (no replay still being projected), then the rebuild
//!    table is emptied.
//! 2. `StartReplay` sends every archived event, from the archive's creation to now, to the
//!    bus, named `<prefix><unix ms>` and filtered to the rebuild rule alone (`FilterArns`), so
//!    no live consumer sees it (and should an emulator ignore the filter, live consumers
//!    acknowledge replays untouched: `shared::consumer::Delivery`).
//! 3. The rebuild consumer projects the replay; the command waits until the replay is
//!    COMPLETED and the rebuild queue stays empty.
//! 4. Both tables are scanned and compared (`table_diff`). `--restore` then writes the
//!    rebuilt items over the live table (and deletes live items the rebuild lacks) and
//!    compares again: how a lost or corrupted projection is brought back. Pause the live
//!    consumer meanwhile (on AWS: disable its event source mapping; events wait in its queue).
//!
//! The comparison is exact only when nothing is published while it runs: events after the
//! replay's end are live and not rebuilt.
//!
//! Resource names come from the manifest `infra/provision.py` writes (logical id → physical
//! name, from the stack), the AWS endpoint from the environment like every FinFlow client.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use aws_sdk_sqs::types::QueueAttributeName;
use finflow_local::manifest::Manifest;

use crate::table_diff::{Difference, Snapshot, compare};

type Item = HashMap<String, AttributeValue>;

/// A projection that can be rebuilt: its live table and the template resources its rebuild
/// runs through, by logical id.
pub struct Projection {
    pub name: &'static str,
    pub live_table: &'static str,
    pub rebuild_table: &'static str,
    pub rebuild_queue: &'static str,
    pub rebuild_dlq: &'static str,
    pub rebuild_rule: &'static str,
    /// Replay names start with it; the rebuild rule matches exactly those.
    pub replay_prefix: &'static str,
}

pub const PROJECTIONS: &[Projection] = &[Projection {
    name: "reporting",
    live_table: "ReportingTable",
    rebuild_table: "ReportingRebuildTable",
    rebuild_queue: "ReportingRebuildQueue",
    rebuild_dlq: "ReportingRebuildDLQ",
    rebuild_rule: "ReportingRebuildRule",
    replay_prefix: "reporting-rebuild-",
}];

pub struct Options {
    pub projection: String,
    pub manifest: PathBuf,
    pub restore: bool,
    /// How long the replay may take to be projected.
    pub timeout: Duration,
}

impl Options {
    pub fn new(projection: impl Into<String>, manifest: impl Into<PathBuf>) -> Self {
        Options {
            projection: projection.into(),
            manifest: manifest.into(),
            restore: false,
            timeout: Duration::from_secs(600),
        }
    }
}

/// What a replay did, in figures.
#[derive(Debug)]
pub struct Report {
    pub replay_name: String,
    pub window: (String, String),
    pub emptied: usize,
    pub replay_took: Duration,
    pub projected_in: Duration,
    /// Replayed events the rebuild gave up on (new messages in its DLQ).
    pub dead_lettered: i64,
    pub live_items: usize,
    pub rebuilt_items: usize,
    /// Live vs rebuilt, before any restore.
    pub differences: Vec<Difference>,
    /// Items written into the live table by `--restore`, and the differences left after it.
    pub restored: Option<(usize, Vec<Difference>)>,
}

impl Report {
    /// The live table equals the rebuild (after the restore, when there was one).
    pub fn identical(&self) -> bool {
        match &self.restored {
            Some((_, after)) => after.is_empty(),
            None => self.differences.is_empty(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "replay {}", self.replay_name)?;
        writeln!(f, "  window        {} .. {}", self.window.0, self.window.1)?;
        writeln!(
            f,
            "  emptied       {} items of the rebuild table",
            self.emptied
        )?;
        writeln!(f, "  replayed      in {:.1?}", self.replay_took)?;
        writeln!(
            f,
            "  projected     in {:.1?}; {} events dead-lettered",
            self.projected_in, self.dead_lettered
        )?;
        writeln!(
            f,
            "  compared      {} live items with {} rebuilt: {}",
            self.live_items,
            self.rebuilt_items,
            verdict(&self.differences)
        )?;
        list(f, &self.differences)?;
        if let Some((written, after)) = &self.restored {
            writeln!(
                f,
                "  restored      {written} items into the live table: {}",
                verdict(after)
            )?;
            list(f, after)?;
        }
        Ok(())
    }
}

fn verdict(differences: &[Difference]) -> String {
    match differences.len() {
        0 => "identical".into(),
        n => format!("{n} differences"),
    }
}

fn list(f: &mut fmt::Formatter<'_>, differences: &[Difference]) -> fmt::Result {
    const SHOWN: usize = 20;
    for difference in differences.iter().take(SHOWN) {
        writeln!(f, "    {difference}")?;
    }
    if differences.len() > SHOWN {
        writeln!(f, "    … and {} more", differences.len() - SHOWN)?;
    }
    Ok(())
}

/// The physical names one replay works with.
struct Resources {
    live_table: String,
    rebuild_table: String,
    rebuild_queue: String,
    rebuild_dlq: String,
    rule_arn: String,
    bus_arn: String,
    archive: String,
    archive_arn: String,
}

impl Resources {
    fn from_manifest(path: &Path, projection: &Projection) -> Result<Self, String> {
        let manifest = Manifest::load(path)?;
        let missing = |what: &str| format!("{}: no {what} in the manifest", path.display());
        let table = |id: &str| manifest.tables.get(id).cloned().ok_or_else(|| missing(id));
        let queue = |id: &str| {
            manifest
                .queues
                .get(id)
                .map(|q| q.url.clone())
                .ok_or_else(|| missing(id))
        };
        let archive = manifest
            .archive
            .as_ref()
            .ok_or_else(|| missing("archive"))?;
        Ok(Resources {
            live_table: table(projection.live_table)?,
            rebuild_table: table(projection.rebuild_table)?,
            rebuild_queue: queue(projection.rebuild_queue)?,
            rebuild_dlq: queue(projection.rebuild_dlq)?,
            rule_arn: manifest
                .rules
                .get(projection.rebuild_rule)
                .map(|r| r.arn.clone())
                .ok_or_else(|| missing(projection.rebuild_rule))?,
            bus_arn: manifest
                .event_bus
                .as_ref()
                .map(|bus| bus.arn.clone())
                .ok_or_else(|| missing("event bus"))?,
            archive: archive.name.clone(),
            archive_arn: archive.arn.clone(),
        })
    }
}

struct Clients {
    dynamo: aws_sdk_dynamodb::Client,
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
}

/// Rebuilds `options.projection` and compares it with the live table.
pub async fn run(options: &Options) -> Result<Report, String> {
    let projection = PROJECTIONS
        .iter()
        .find(|p| p.name == options.projection)
        .ok_or_else(|| {
            let known: Vec<&str> = PROJECTIONS.iter().map(|p| p.name).collect();
            format!(
                "no projection {:?} to replay; known: {}",
                options.projection,
                known.join(", ")
            )
        })?;
    let resources = Resources::from_manifest(&options.manifest, projection)?;
    let sdk = finflow_shared::config::aws_sdk_config().await;
    let clients = Clients {
        dynamo: aws_sdk_dynamodb::Client::new(&sdk),
        events: aws_sdk_eventbridge::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
    };

    if depth(&clients.sqs, &resources.rebuild_queue).await? > 0 {
        return Err(format!(
            "{} still holds messages: a replay is being projected; wait for it, or purge it",
            resources.rebuild_queue
        ));
    }
    let dead_before = depth(&clients.sqs, &resources.rebuild_dlq).await?;
    let key = key_attributes(&clients.dynamo, &resources.live_table).await?;
    let stale = scan(&clients.dynamo, &resources.rebuild_table).await?;
    delete(&clients.dynamo, &resources.rebuild_table, &key, &stale).await?;

    let archive = clients
        .events
        .describe_archive()
        .archive_name(&resources.archive)
        .send()
        .await
        .map_err(|e| {
            format!(
                "describe archive {}: {}",
                resources.archive,
                DisplayErrorContext(&e)
            )
        })?;
    let from = archive
        .creation_time()
        .copied()
        .unwrap_or(DateTime::from_secs(0));
    let to = DateTime::from(std::time::SystemTime::now());
    let replay_name = format!(
        "{}{}",
        projection.replay_prefix,
        to.to_millis().map_err(|e| e.to_string())?
    );
    let started = Instant::now();
    clients
        .events
        .start_replay()
        .replay_name(&replay_name)
        .event_source_arn(&resources.archive_arn)
        .event_start_time(from)
        .event_end_time(to)
        .destination(
            ReplayDestination::builder()
                .arn(&resources.bus_arn)
                .filter_arns(&resources.rule_arn)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("start replay {replay_name}: {}", DisplayErrorContext(&e)))?;
    wait_for_replay(&clients.events, &replay_name, options.timeout).await?;
    let replay_took = started.elapsed();
    let left = options.timeout.saturating_sub(replay_took);
    wait_until_drained(&clients.sqs, &resources.rebuild_queue, left).await?;
    let projected_in = started.elapsed();
    let dead_lettered = depth(&clients.sqs, &resources.rebuild_dlq).await? - dead_before;

    let live = scan(&clients.dynamo, &resources.live_table).await?;
    let rebuilt = scan(&clients.dynamo, &resources.rebuild_table).await?;
    let differences = compare(
        &Snapshot::from_items(&key, &live),
        &Snapshot::from_items(&key, &rebuilt),
    );
    let restored = if options.restore {
        let written = restore(
            &clients.dynamo,
            &resources.live_table,
            &key,
            &live,
            &rebuilt,
        )
        .await?;
        let after = scan(&clients.dynamo, &resources.live_table).await?;
        let left = compare(
            &Snapshot::from_items(&key, &after),
            &Snapshot::from_items(&key, &rebuilt),
        );
        Some((written, left))
    } else {
        None
    };
    Ok(Report {
        replay_name,
        window: (rfc3339(from), rfc3339(to)),
        emptied: stale.len(),
        replay_took,
        projected_in,
        dead_lettered,
        live_items: live.len(),
        rebuilt_items: rebuilt.len(),
        differences,
        restored,
    })
}

async fn wait_for_replay(
    events: &aws_sdk_eventbridge::Client,
    name: &str,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let replay = events
            .describe_replay()
            .replay_name(name)
            .send()
            .await
            .map_err(|e| format!("describe replay {name}: {}", DisplayErrorContext(&e)))?;
        match replay.state() {
            Some(ReplayState::Completed) => return Ok(()),
            Some(state @ (ReplayState::Failed | ReplayState::Cancelled)) => {
                return Err(format!(
                    "replay {name} ended {}: {}",
                    state.as_str(),
                    replay.state_reason().unwrap_or("no reason given")
                ));
            }
            _ if Instant::now() >= deadline => {
                return Err(format!("replay {name} not completed after {timeout:?}"));
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Waits until the queue has held no message, visible or in flight, for three polls in a row:
/// a replay's last events may reach the queue after it reports COMPLETED.
async fn wait_until_drained(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut quiet = 0;
    while quiet < 3 {
        if Instant::now() >= deadline {
            return Err(format!("{queue} not drained after {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        quiet = if depth(sqs, queue).await? == 0 {
            quiet + 1
        } else {
            0
        };
    }
    Ok(())
}

/// Messages in the queue: visible, in flight and delayed.
async fn depth(sqs: &aws_sdk_sqs::Client, queue: &str) -> Result<i64, String> {
    let names = [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ];
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|e| format!("queue attributes of {queue}: {}", DisplayErrorContext(&e)))?;
    let attributes = attributes.attributes().cloned().unwrap_or_default();
    Ok(names
        .iter()
        .filter_map(|name| attributes.get(name)?.parse::<i64>().ok())
        .sum())
}

async fn key_attributes(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<String>, String> {
    let description = dynamo
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("describe table {table}: {}", DisplayErrorContext(&e)))?;
    let key: Vec<String> = description
        .table()
        .map(|t| {
            t.key_schema()
                .iter()
                .map(|k| k.attribute_name().to_owned())
                .collect()
        })
        .unwrap_or_default();
    if key.is_empty() {
        return Err(format!("{table} has no key schema"));
    }
    Ok(key)
}

async fn scan(dynamo: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = dynamo
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("scan {table}: {}", DisplayErrorContext(&e)))?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(items),
        }
    }
}

/// Makes `table` hold exactly `rebuilt`: deletes what the rebuild lacks, puts the rest.
async fn restore(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &[String],
    live: &[Item],
    rebuilt: &[Item],
) -> Result<usize, String> {
    let keep: HashSet<Vec<String>> = rebuilt.iter().map(|item| key_of(key, item)).collect();
    let gone: Vec<Item> = live
        .iter()
        .filter(|item| !keep.contains(&key_of(key, item)))
        .cloned()
        .collect();
    delete(dynamo, table, key, &gone).await?;
    let puts = rebuilt
        .iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item.clone()))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    write(dynamo, table, puts).await?;
    Ok(rebuilt.len())
}

async fn delete(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &[String],
    items: &[Item],
) -> Result<(), String> {
    let deletes = items
        .iter()
        .map(|item| {
            let key: Item = key
                .iter()
                .filter_map(|name| Some((name.clone(), item.get(name)?.clone())))
                .collect();
            DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .map(|delete| WriteRequest::builder().delete_request(delete).build())
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    write(dynamo, table, deletes).await
}

/// BatchWriteItem in chunks of 25, resending what DynamoDB leaves unprocessed.
async fn write(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), String> {
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        for attempt in 0u32.. {
            if pending.is_empty() {
                break;
            }
            if attempt == 10 {
                return Err(format!(
                    "{table}: writes still unprocessed after 10 attempts"
                ));
            }
            let output = dynamo
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| format!("batch write to {table}: {}", DisplayErrorContext(&e)))?;
            pending = output
                .unprocessed_items()
                .and_then(|items| items.get(table))
                .cloned()
                .unwrap_or_default();
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
            }
        }
    }
    Ok(())
}

fn key_of(key: &[String], item: &Item) -> Vec<String> {
    key.iter()
        .map(|name| format!("{:?}", item.get(name)))
        .collect()
}

fn rfc3339(at: DateTime) -> String {
    at.fmt(aws_sdk_eventbridge::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| at.to_string())
}
