//! Where AML compliance keeps its state: the port, and its DynamoDB adapter, in the KYC table.
//!
//! Layout (pk, sk):
//! - `AMLCASES`, `CASE#<020 id>`: a case (the record; listing every case, newest first)
//! - `AMLCASES#<status>`, `CASE#<020 id>`: a copy of the case under its current status
//!   (`open` or `resolved`), moved in the same transaction as every status change, so a
//!   status filter is an exact query rather than a filtered scan. Cases are few (one per held
//!   payment), so these partitions stay far below DynamoDB's per-partition limits.
//! - `AMLPAYMENT#<payment id>`, `PAYMENT`: what AML knows of a held payment: its case, and its
//!   end once payment reported it (events may arrive in any order)
//! - `AMLUSER#<user>`, `SUMMARY`: the user's holds and how they ended
//! - `AMLUSER#<user>`, `DAY#<yyyy-mm-dd>#<currency>`: what the user sent that UTC day
//! - `SEQUENCE#aml-cases`, `SEQUENCE`: the case id counter

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use finflow_shared::PositiveAmount;
use finflow_shared::consumer::{InboxMarker, inbox_claim};
use finflow_shared::currency::Currency;
use finflow_shared::dynamo::{
    Item, ItemExt, ListError, StoreError, fetch_page, get_item, money, next_sequence_value, number,
    page_query, text, timestamp,
};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::payment::{PaymentSnapshot, PaymentStatus};
use finflow_shared::outbox::outbox_witness;
use finflow_shared::transaction::{Failure, TransactError, transact};
use finflow_shared::{CaseId, PaymentId, UserId};

use super::activity::{ActivityChange, DayActivity, UserActivity};
use super::case::{
    AmlCase, CaseStatus, Decision, PaymentEnd, Settlement, action_str, parse_action,
};

/// What AML knows of one held payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedPayment {
    pub payment_id: PaymentId,
    pub case_id: Option<CaseId>,
    /// The payment's end, once payment reported it.
    pub settlement: Option<Settlement>,
    /// 0 while unknown; one more with each change (the optimistic-concurrency guard).
    pub version: u64,
}

impl WatchedPayment {
    pub fn unknown(payment_id: PaymentId) -> Self {
        WatchedPayment {
            payment_id,
            case_id: None,
            settlement: None,
            version: 0,
        }
    }

    /// The next state, to be written only over this one.
    pub fn next(&self) -> Self {
        WatchedPayment {
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// The next state, now with its case.
    pub fn with_case(&self, case_id: CaseId) -> Self {
        WatchedPayment {
            case_id: Some(case_id),
            ..self.next()
        }
    }

    /// The next state, now with the payment's end.
    pub fn with_settlement(&self, settlement: Settlement) -> Self {
        WatchedPayment {
            settlement: Some(settlement),
            ..self.next()
        }
    }
}

/// A case to write, and the status it had before (`None` for a new case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseChange {
    pub case: AmlCase,
    pub previous: Option<CaseStatus>,
}

/// Everything one payment event changes, written with the consumer's inbox marker in one
/// transaction.
#[derive(Debug, Clone)]
pub struct MonitoringWrite {
    /// The consumer and the event, for the inbox.
    pub inbox: InboxMarker,
    pub activity: Option<ActivityChange>,
    /// The payment's new state, written only over `version - 1`.
    pub payment: Option<WatchedPayment>,
    pub case: Option<CaseChange>,
}

pub struct CasePage {
    pub cases: Vec<AmlCase>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AmlWriteError {
    /// The inbox already holds the event.
    #[error("the event was already applied")]
    AlreadyApplied,
    /// The case or the payment changed since it was read.
    #[error("the record changed concurrently")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait AmlStore: Send + Sync {
    async fn allocate_case_id(&self) -> Result<CaseId, StoreError>;
    async fn case(&self, id: CaseId) -> Result<Option<AmlCase>, StoreError>;
    /// Cases, newest first, optionally only those with `status`.
    async fn cases(
        &self,
        status: Option<CaseStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<CasePage, ListError>;
    /// What AML knows of the payment; `WatchedPayment::unknown` when nothing yet.
    async fn watched_payment(&self, payment_id: PaymentId) -> Result<WatchedPayment, StoreError>;
    async fn activity(&self, user_id: UserId) -> Result<UserActivity, StoreError>;
    /// Applies one event's changes with its inbox marker, atomically.
    async fn record(&self, write: MonitoringWrite) -> Result<(), AmlWriteError>;
    /// Stores a staff decision (if the case is still at `version - 1`, hence still open) with
    /// its `aml.case_resolved` event, atomically.
    async fn save_resolution(
        &self,
        case: &AmlCase,
        event: &EventEnvelope,
    ) -> Result<(), AmlWriteError>;
}

const CASES: &str = "AMLCASES";
const CASE_PREFIX: &str = "CASE#";

fn case_sk(id: CaseId) -> String {
    format!("{CASE_PREFIX}{id:020}")
}

fn list_pk(status: Option<CaseStatus>) -> String {
    match status {
        None => CASES.to_owned(),
        Some(status) => format!("{CASES}#{}", status.as_str()),
    }
}

fn settlement_attributes(item: &mut Item, settlement: &Settlement) {
    item.insert("outcome".into(), text(settlement.outcome.as_str()));
    item.insert("settled_at".into(), timestamp(settlement.settled_at));
    if let Some(detail) = &settlement.detail {
        item.insert("outcome_detail".into(), text(detail));
    }
}

fn settlement_of(item: &Item) -> Result<Option<Settlement>, StoreError> {
    let Some(outcome) = item.optional_string("outcome") else {
        return Ok(None);
    };
    Ok(Some(Settlement {
        outcome: PaymentEnd::parse(&outcome).ok_or_else(|| item.corrupt("outcome"))?,
        settled_at: item.timestamp("settled_at")?,
        detail: item.optional_string("outcome_detail"),
    }))
}

fn case_item(case: &AmlCase, pk: String) -> Item {
    let payment = &case.payment;
    let mut item = Item::from([
        ("pk".into(), text(pk)),
        ("sk".into(), text(case_sk(case.id))),
        ("case_id".into(), number(case.id)),
        ("status".into(), text(case.status().as_str())),
        ("payment_id".into(), number(payment.payment_id)),
        ("from_wallet_id".into(), number(payment.from_wallet_id)),
        ("to_wallet_id".into(), number(payment.to_wallet_id)),
        ("payer_id".into(), number(payment.payer_id)),
        ("payee_id".into(), number(payment.payee_id)),
        ("amount".into(), money(payment.amount.money())),
        ("currency".into(), text(payment.currency.code())),
        ("payment_status".into(), text(payment.status.as_str())),
        (
            "hold_reasons".into(),
            AttributeValue::L(case.hold_reasons.iter().map(text).collect()),
        ),
        ("held_at".into(), timestamp(case.held_at)),
        ("opened_at".into(), timestamp(case.opened_at)),
        ("version".into(), number(case.version)),
    ]);
    if let Some(description) = &payment.description {
        item.insert("description".into(), text(description));
    }
    if let Some(decision) = &case.decision {
        item.insert("action".into(), text(action_str(decision.action)));
        item.insert("resolved_by".into(), number(decision.resolved_by));
        item.insert("resolved_at".into(), timestamp(decision.resolved_at));
        if let Some(note) = &decision.note {
            item.insert("note".into(), text(note));
        }
    }
    if let Some(settlement) = &case.settlement {
        settlement_attributes(&mut item, settlement);
    }
    item
}

fn case_from_item(item: &Item) -> Result<AmlCase, StoreError> {
    let decision = match item.optional_string("action") {
        Some(action) => Some(Decision {
            action: parse_action(&action).ok_or_else(|| item.corrupt("action"))?,
            resolved_by: item.number("resolved_by")?,
            resolved_at: item.timestamp("resolved_at")?,
            note: item.optional_string("note"),
        }),
        None => None,
    };
    Ok(AmlCase {
        id: item.number("case_id")?,
        payment: PaymentSnapshot {
            payment_id: item.number("payment_id")?,
            from_wallet_id: item.number("from_wallet_id")?,
            to_wallet_id: item.number("to_wallet_id")?,
            payer_id: item.number("payer_id")?,
            payee_id: item.number("payee_id")?,
            amount: PositiveAmount::new(item.money("amount")?)
                .map_err(|_| item.corrupt("amount"))?,
            currency: Currency::parse(&item.string("currency")?)
                .map_err(|_| item.corrupt("currency"))?,
            status: PaymentStatus::parse(&item.string("payment_status")?)
                .ok_or_else(|| item.corrupt("payment_status"))?,
            description: item.optional_string("description"),
        },
        hold_reasons: match item.get("hold_reasons") {
            Some(AttributeValue::L(reasons)) => reasons
                .iter()
                .filter_map(|r| r.as_s().ok().cloned())
                .collect(),
            _ => Vec::new(),
        },
        held_at: item.timestamp("held_at")?,
        opened_at: item.timestamp("opened_at")?,
        decision,
        settlement: settlement_of(item)?,
        version: item.number("version")?,
    })
}

fn watched_item(payment: &WatchedPayment) -> Item {
    let mut item = Item::from([
        (
            "pk".into(),
            text(format!("AMLPAYMENT#{}", payment.payment_id)),
        ),
        ("sk".into(), text("PAYMENT")),
        ("payment_id".into(), number(payment.payment_id)),
        ("version".into(), number(payment.version)),
    ]);
    if let Some(case_id) = payment.case_id {
        item.insert("case_id".into(), number(case_id));
    }
    if let Some(settlement) = &payment.settlement {
        settlement_attributes(&mut item, settlement);
    }
    item
}

fn watched_from_item(item: &Item) -> Result<WatchedPayment, StoreError> {
    Ok(WatchedPayment {
        payment_id: item.number("payment_id")?,
        case_id: item
            .get("case_id")
            .map(|_| item.number("case_id"))
            .transpose()?,
        settlement: settlement_of(item)?,
        version: item.number("version")?,
    })
}

/// The cancellation tells which rule the transaction refused.
fn write_error(error: TransactError) -> AmlWriteError {
    match Failure::from(error) {
        Failure::AlreadyCommitted => AmlWriteError::AlreadyApplied,
        // A guard failed, or another transaction touched the same items: re-read and retry.
        Failure::Conflict => AmlWriteError::Conflict,
        Failure::Store(error) => AmlWriteError::Store(error),
    }
}

pub struct DynamoAmlStore {
    client: Client,
    table: String,
    outbox_table: String,
    inbox_table: String,
}

impl DynamoAmlStore {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        outbox_table: impl Into<String>,
        inbox_table: impl Into<String>,
    ) -> Self {
        DynamoAmlStore {
            client,
            table: table.into(),
            outbox_table: outbox_table.into(),
            inbox_table: inbox_table.into(),
        }
    }

    /// A put guarded by the record's version: new at version 1, else over `version - 1`.
    fn guarded_put(&self, item: Item, version: u64) -> TransactWriteItem {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = if version <= 1 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", number(version - 1))
        };
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    fn plain_put(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// The case record (guarded) and its status copy, moved when the status changed.
    fn case_items(&self, change: &CaseChange) -> Vec<TransactWriteItem> {
        let case = &change.case;
        let status = case.status();
        let mut items = vec![self.guarded_put(case_item(case, list_pk(None)), case.version)];
        if let Some(previous) = change.previous.filter(|p| *p != status) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", text(list_pk(Some(previous))))
                .key("sk", text(case_sk(case.id)))
                .build()
                .expect("table and key are set");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        items.push(self.plain_put(case_item(case, list_pk(Some(status)))));
        items
    }

    fn activity_items(&self, change: &ActivityChange) -> Vec<TransactWriteItem> {
        let pk = format!("AMLUSER#{}", change.user_id);
        let mut items = Vec::new();
        let counter = match change.ended {
            Some(PaymentEnd::Released) => Some("released"),
            Some(PaymentEnd::Voided) => Some("voided"),
            Some(PaymentEnd::Failed) => Some("failed"),
            None => None,
        };
        let mut counters: Vec<(&str, u32)> = Vec::new();
        if change.holds > 0 {
            counters.push(("holds", change.holds));
        }
        if let Some(counter) = counter {
            counters.push((counter, 1));
        }
        if !counters.is_empty() {
            let mut update = Update::builder()
                .table_name(&self.table)
                .key("pk", text(&pk))
                .key("sk", text("SUMMARY"))
                .expression_attribute_names("#user", "user_id")
                .expression_attribute_values(":user", number(change.user_id));
            let mut additions = Vec::new();
            for (index, (name, by)) in counters.iter().enumerate() {
                additions.push(format!("#c{index} :c{index}"));
                update = update
                    .expression_attribute_names(format!("#c{index}"), *name)
                    .expression_attribute_values(format!(":c{index}"), number(by));
            }
            let update = update
                .update_expression(format!("SET #user = :user ADD {}", additions.join(", ")))
                .build()
                .expect("table, key and expression are set");
            items.push(TransactWriteItem::builder().update(update).build());
        }
        if let Some(sent) = &change.sent {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", text(&pk))
                .key(
                    "sk",
                    text(format!("DAY#{}#{}", sent.day, sent.currency.code())),
                )
                .update_expression(
                    "SET #user = :user, #day = :day, #currency = :currency \
                     ADD #count :one, #volume :amount",
                )
                .expression_attribute_names("#user", "user_id")
                .expression_attribute_names("#day", "day")
                .expression_attribute_names("#currency", "currency")
                .expression_attribute_names("#count", "sent_count")
                .expression_attribute_names("#volume", "sent_volume")
                .expression_attribute_values(":user", number(change.user_id))
                .expression_attribute_values(":day", text(&sent.day))
                .expression_attribute_values(":currency", text(sent.currency.code()))
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":amount", money(sent.amount))
                .build()
                .expect("table, key and expression are set");
            items.push(TransactWriteItem::builder().update(update).build());
        }
        items
    }
}

fn count(item: &Item, attribute: &str) -> Result<u64, StoreError> {
    match item.get(attribute) {
        Some(_) => item.number(attribute),
        None => Ok(0),
    }
}

#[async_trait]
impl AmlStore for DynamoAmlStore {
    async fn allocate_case_id(&self) -> Result<CaseId, StoreError> {
        next_sequence_value(&self.client, &self.table, "aml-cases").await
    }

    async fn case(&self, id: CaseId) -> Result<Option<AmlCase>, StoreError> {
        get_item(&self.client, &self.table, CASES, &case_sk(id))
            .await?
            .map(|item| case_from_item(&item))
            .transpose()
    }

    async fn cases(
        &self,
        status: Option<CaseStatus>,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<CasePage, ListError> {
        let pk = list_pk(status);
        let query = page_query(&self.client, &self.table, &pk, CASE_PREFIX, limit, cursor)?;
        let (cases, next_cursor) = fetch_page(
            query.scan_index_forward(false).consistent_read(true),
            case_from_item,
        )
        .await?;
        Ok(CasePage { cases, next_cursor })
    }

    async fn watched_payment(&self, payment_id: PaymentId) -> Result<WatchedPayment, StoreError> {
        let item = get_item(
            &self.client,
            &self.table,
            format!("AMLPAYMENT#{payment_id}"),
            "PAYMENT",
        )
        .await?;
        match item {
            Some(item) => watched_from_item(&item),
            None => Ok(WatchedPayment::unknown(payment_id)),
        }
    }

    async fn activity(&self, user_id: UserId) -> Result<UserActivity, StoreError> {
        // The summary and the latest 100 days (in practice, currencies x days), newest first.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", text(format!("AMLUSER#{user_id}")))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(101)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let mut activity = UserActivity::new(user_id);
        for item in output.items() {
            match item.optional_string("sk").as_deref() {
                Some("SUMMARY") => {
                    activity.holds = count(item, "holds")?;
                    activity.released = count(item, "released")?;
                    activity.voided = count(item, "voided")?;
                    activity.failed = count(item, "failed")?;
                }
                Some(sk) if sk.starts_with("DAY#") => activity.days.push(DayActivity {
                    day: item.string("day")?,
                    currency: Currency::parse(&item.string("currency")?)
                        .map_err(|_| item.corrupt("currency"))?,
                    sent_count: item.number("sent_count")?,
                    sent_volume: item.money("sent_volume")?,
                }),
                _ => {}
            }
        }
        Ok(activity)
    }

    async fn record(&self, write: MonitoringWrite) -> Result<(), AmlWriteError> {
        let inbox = inbox_claim(&self.inbox_table, write.inbox);
        let mut items = Vec::new();
        if let Some(activity) = &write.activity {
            items.extend(self.activity_items(activity));
        }
        if let Some(payment) = &write.payment {
            items.push(self.guarded_put(watched_item(payment), payment.version));
        }
        if let Some(change) = &write.case {
            items.extend(self.case_items(change));
        }
        transact(&self.client, inbox, items)
            .await
            .map_err(write_error)
    }

    async fn save_resolution(
        &self,
        case: &AmlCase,
        event: &EventEnvelope,
    ) -> Result<(), AmlWriteError> {
        let items = self.case_items(&CaseChange {
            case: case.clone(),
            previous: Some(CaseStatus::Open),
        });
        // One plan per request: its event's outbox row witnesses it.
        transact(
            &self.client,
            outbox_witness(&self.outbox_table, event),
            items,
        )
        .await
        .map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use finflow_shared::events::aml::CaseAction;
    use finflow_shared::{Money, WalletId};
    use time::macros::datetime;

    use super::*;

    fn case() -> AmlCase {
        AmlCase::open(
            CaseId::new(12),
            PaymentSnapshot {
                payment_id: PaymentId::new(40),
                from_wallet_id: WalletId::new(1),
                to_wallet_id: WalletId::new(2),
                payer_id: UserId::new(3),
                payee_id: UserId::new(4),
                amount: PositiveAmount::new(Money::parse("950.1234").unwrap()).unwrap(),
                currency: Currency::parse("USD").unwrap(),
                status: PaymentStatus::OnHold,
                description: Some("rent".into()),
            },
            vec!["structuring".into(), "large amount".into()],
            datetime!(2026-01-01 10:00 UTC),
            None,
            datetime!(2026-01-01 10:00:01 UTC),
        )
    }

    #[test]
    fn cases_round_trip_through_items() {
        let open = case();
        assert_eq!(
            case_from_item(&case_item(&open, list_pk(None))).unwrap(),
            open
        );
        let closed = open
            .resolve(
                CaseAction::Void,
                UserId::new(9),
                Some("mule account".into()),
                datetime!(2026-01-01 10:30 UTC),
            )
            .unwrap()
            .settle(Settlement {
                outcome: PaymentEnd::Voided,
                settled_at: datetime!(2026-01-01 10:31 UTC),
                detail: Some("voided by AML case 12".into()),
            })
            .unwrap();
        let item = case_item(&closed, list_pk(Some(CaseStatus::Resolved)));
        assert_eq!(item["pk"].as_s().unwrap(), "AMLCASES#resolved");
        assert_eq!(item["sk"].as_s().unwrap(), "CASE#00000000000000000012");
        assert_eq!(item["amount"].as_n().unwrap(), "950.1234");
        assert_eq!(case_from_item(&item).unwrap(), closed);
    }

    #[test]
    fn watched_payments_round_trip_through_items() {
        let mut watched = WatchedPayment::unknown(PaymentId::new(40)).next();
        assert_eq!(watched_from_item(&watched_item(&watched)).unwrap(), watched);
        watched.case_id = Some(CaseId::new(12));
        watched.settlement = Some(Settlement {
            outcome: PaymentEnd::Failed,
            settled_at: datetime!(2026-01-01 10:31 UTC),
            detail: None,
        });
        assert_eq!(watched_from_item(&watched_item(&watched)).unwrap(), watched);
    }

    #[test]
    fn only_a_committed_witness_marks_a_duplicate() {
        let cancelled = |reasons: &[&str]| TransactError::Cancelled {
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        };
        assert!(matches!(
            write_error(TransactError::AlreadyCommitted),
            AmlWriteError::AlreadyApplied
        ));
        assert!(matches!(
            write_error(cancelled(&["None", "ConditionalCheckFailed"])),
            AmlWriteError::Conflict
        ));
        assert!(matches!(
            write_error(cancelled(&["None", "TransactionConflict"])),
            AmlWriteError::Conflict
        ));
        // Throttled inside the transaction: nothing applied, worth another try.
        assert!(matches!(
            write_error(cancelled(&["ThrottlingError"])),
            AmlWriteError::Conflict
        ));
        assert!(matches!(
            write_error(cancelled(&["ValidationError"])),
            AmlWriteError::Store(_)
        ));
    }
}
