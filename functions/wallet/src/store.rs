//! Where wallet keeps its state: the port, and its DynamoDB adapter.
//!
//! Wallet table layout (pk, sk):
//! - `CUSTOMER#<user>`, `PROFILE`: KYC status, tier and open wallet count, learned from events
//! - `CUSTOMER#<user>`, `CURRENCY#<code>`: one open wallet per user and currency
//! - `CUSTOMER#<user>`, `WALLET#<id>`: lists a user's wallets
//! - `WALLET#<id>`, `META`: the wallet
//! - `WALLET#<id>`, `TX#<entry id>`: its ledger, newest last
//! - `SEQUENCE#wallets`, `SEQUENCE`: the wallet id counter

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use finflow_shared::currency::Currency;
use finflow_shared::customer::{AccountTier, KycStatus};
use finflow_shared::dynamo::{
    Item, ItemExt, ListError, StoreError, fetch_page, get_item, money, next_sequence_value, number,
    page_query, text, timestamp,
};
use finflow_shared::events::EventEnvelope;
use finflow_shared::events::wallet::WalletStatus;
use finflow_shared::outbox::outbox_put;
use finflow_shared::transaction::{Failure, TransactError, Witness, transact};
use finflow_shared::{Money, PositiveAmount, UserId, WalletId};

use crate::domain::{EntryKind, FrozenBy, LedgerEntry, Wallet, WalletState};

/// What wallet knows of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub user_id: UserId,
    pub kyc_status: KycStatus,
    pub account_tier: AccountTier,
    pub open_wallets: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the user already has an open wallet in this currency")]
    CurrencyTaken,
    /// The customer's KYC status or wallet count no longer allows it.
    #[error("the customer may not open another wallet")]
    NotAllowed,
    #[error("the record changed concurrently")]
    Conflict,
    /// An earlier attempt of this request committed (its receipt exists).
    #[error("the request committed already")]
    AlreadyCommitted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a ledger, newest first.
pub struct EntryPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait WalletStore: Send + Sync {
    async fn customer(&self, user_id: UserId) -> Result<Option<Customer>, StoreError>;
    async fn allocate_wallet_id(&self) -> Result<WalletId, StoreError>;
    /// Opens the wallet if the customer is verified and below `max_wallets`, atomically.
    async fn create_wallet(
        &self,
        wallet: &Wallet,
        max_wallets: u32,
        event: &EventEnvelope,
        receipt: Witness,
    ) -> Result<(), WriteError>;
    async fn wallet(&self, id: WalletId) -> Result<Option<Wallet>, StoreError>;
    async fn wallets_of(&self, user_id: UserId) -> Result<Vec<Wallet>, StoreError>;
    /// Saves a status change made on version `updated.version - 1`.
    async fn save_status(
        &self,
        previous: &Wallet,
        updated: &Wallet,
        event: &EventEnvelope,
        receipt: Witness,
    ) -> Result<(), WriteError>;
    /// Saves a deposit made on version `updated.version - 1`, with its ledger entry, event and
    /// the request's receipt, in one transaction.
    async fn save_deposit(
        &self,
        updated: &Wallet,
        entry: &LedgerEntry,
        event: &EventEnvelope,
        receipt: Witness,
    ) -> Result<(), WriteError>;
    async fn entries(
        &self,
        wallet_id: WalletId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<EntryPage, ListError>;
}

pub struct DynamoWalletStore {
    client: Client,
    table: String,
    outbox_table: String,
}

impl DynamoWalletStore {
    pub fn new(client: Client, table: impl Into<String>, outbox_table: impl Into<String>) -> Self {
        DynamoWalletStore {
            client,
            table: table.into(),
            outbox_table: outbox_table.into(),
        }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        get_item(&self.client, &self.table, pk, sk).await
    }

    /// The wallet item, written only if the stored version is the one the change started from.
    fn wallet_put(&self, wallet: &Wallet, require_active: bool) -> TransactWriteItem {
        self.capped_wallet_put(wallet, require_active, None)
    }

    /// `wallet_put`, and with `cap` the stored balance must also be at most it.
    fn capped_wallet_put(
        &self,
        wallet: &Wallet,
        require_active: bool,
        cap: Option<Money>,
    ) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(wallet_item(wallet)));
        if wallet.version == 1 {
            put = put.condition_expression("attribute_not_exists(pk)");
        } else {
            let condition = if require_active {
                "#version = :expected AND #status = :active"
            } else {
                "#version = :expected"
            };
            put = put
                .condition_expression(condition)
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", number(wallet.version - 1));
            if require_active {
                put = put
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":active", text("active"));
            }
            if let Some(cap) = cap {
                put = put
                    .condition_expression(format!("{condition} AND #balance <= :cap"))
                    .expression_attribute_names("#balance", "balance")
                    .expression_attribute_values(":cap", money(cap));
            }
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// The writes that move money in a wallet, for a transaction another service assembles
    /// (payment spans wallets and its own records in one transaction to keep money exact).
    /// The wallet write is conditional on the version `updated` was derived from, so it
    /// commits only on the exact state the wallet rules were checked against.
    pub fn movement(
        &self,
        updated: &Wallet,
        entry: Option<&LedgerEntry>,
    ) -> Vec<TransactWriteItem> {
        let mut items = vec![self.wallet_put(updated, false)];
        items.extend(
            entry.map(|entry| self.put_item(entry_item(entry), Some("attribute_not_exists(pk)"))),
        );
        items
    }

    /// `movement`, for a credit that must respect a maximum balance: the wallet is written
    /// only if its stored balance is also at most `stored_balance_at_most`, so the limit holds
    /// in the transaction itself, not only in the rules checked beforehand.
    pub fn capped_movement(
        &self,
        updated: &Wallet,
        entry: Option<&LedgerEntry>,
        stored_balance_at_most: Money,
    ) -> Vec<TransactWriteItem> {
        let mut items = vec![self.capped_wallet_put(updated, false, Some(stored_balance_at_most))];
        items.extend(
            entry.map(|entry| self.put_item(entry_item(entry), Some("attribute_not_exists(pk)"))),
        );
        items
    }

    /// A check, in another service's transaction, that the wallet's stored balance is at most
    /// `stored_balance_at_most`, without writing it (a held transfer must find room in the
    /// payee's wallet, though it credits nothing yet).
    pub fn balance_at_most(
        &self,
        wallet_id: WalletId,
        stored_balance_at_most: Money,
    ) -> TransactWriteItem {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", text(wallet_key(wallet_id)))
            .key("sk", text(WALLET_SORT_KEY))
            .condition_expression("#balance <= :room")
            .expression_attribute_names("#balance", "balance")
            .expression_attribute_values(":room", money(stored_balance_at_most))
            .build()
            .expect("table, key and condition are set");
        TransactWriteItem::builder().condition_check(check).build()
    }

    fn put_item(&self, item: Item, condition: Option<&str>) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }
}

/// A wallet's item: `WALLET#<id>`, `META`.
fn wallet_key(wallet_id: WalletId) -> String {
    format!("WALLET#{wallet_id}")
}

const WALLET_SORT_KEY: &str = "META";

fn wallet_item(wallet: &Wallet) -> Item {
    let mut item = Item::from([
        ("pk".into(), text(wallet_key(wallet.id))),
        ("sk".into(), text(WALLET_SORT_KEY)),
        ("wallet_id".into(), number(wallet.id)),
        ("user_id".into(), number(wallet.user_id)),
        ("currency".into(), text(wallet.currency.code())),
        ("status".into(), text(wallet.status().as_str())),
        ("balance".into(), money(wallet.balance)),
        ("held".into(), money(wallet.held)),
        ("version".into(), number(wallet.version)),
        ("created_at".into(), timestamp(wallet.created_at)),
        ("updated_at".into(), timestamp(wallet.updated_at)),
    ]);
    if let WalletState::Frozen { by } = wallet.state {
        let by = match by {
            FrozenBy::Owner => "owner",
            FrozenBy::Staff => "staff",
        };
        item.insert("frozen_by".into(), text(by));
    }
    item
}

fn wallet_from_item(item: &Item) -> Result<Wallet, StoreError> {
    Ok(Wallet {
        id: item.number("wallet_id")?,
        user_id: item.number("user_id")?,
        currency: Currency::parse(&item.string("currency")?)
            .map_err(|_| item.corrupt("currency"))?,
        state: match WalletStatus::parse(&item.string("status")?) {
            Some(WalletStatus::Active) => WalletState::Active,
            Some(WalletStatus::Frozen) => WalletState::Frozen {
                by: match item.string("frozen_by")?.as_str() {
                    "owner" => FrozenBy::Owner,
                    "staff" => FrozenBy::Staff,
                    _ => return Err(item.corrupt("frozen_by")),
                },
            },
            Some(WalletStatus::Closed) => WalletState::Closed,
            None => return Err(item.corrupt("status")),
        },
        balance: item.money("balance")?,
        held: item.money("held")?,
        version: item.number("version")?,
        created_at: item.timestamp("created_at")?,
        updated_at: item.timestamp("updated_at")?,
    })
}

fn entry_item(entry: &LedgerEntry) -> Item {
    let mut item = Item::from([
        ("pk".into(), text(format!("WALLET#{}", entry.wallet_id))),
        ("sk".into(), text(format!("TX#{}", entry.id))),
        ("entry_id".into(), text(&entry.id)),
        ("wallet_id".into(), number(entry.wallet_id)),
        ("kind".into(), text(entry.kind.as_str())),
        ("amount".into(), money(entry.amount.money())),
        ("balance_after".into(), money(entry.balance_after)),
        ("reference_type".into(), text(&entry.reference_type)),
        ("reference_id".into(), text(&entry.reference_id)),
        ("created_at".into(), timestamp(entry.created_at)),
    ]);
    if let Some(description) = &entry.description {
        item.insert("description".into(), text(description));
    }
    item
}

fn entry_from_item(item: &Item) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        id: item.string("entry_id")?,
        wallet_id: item.number("wallet_id")?,
        kind: EntryKind::parse(&item.string("kind")?).ok_or_else(|| item.corrupt("kind"))?,
        amount: PositiveAmount::new(item.money("amount")?).map_err(|_| item.corrupt("amount"))?,
        balance_after: item.money("balance_after")?,
        reference_type: item.string("reference_type")?,
        reference_id: item.string("reference_id")?,
        description: item.optional_string("description"),
        created_at: item.timestamp("created_at")?,
    })
}

fn cancelled(error: TransactError) -> WriteError {
    match Failure::from(error) {
        Failure::AlreadyCommitted => WriteError::AlreadyCommitted,
        Failure::Conflict => WriteError::Conflict,
        Failure::Store(error) => WriteError::Store(error),
    }
}

#[async_trait]
impl WalletStore for DynamoWalletStore {
    async fn customer(&self, user_id: UserId) -> Result<Option<Customer>, StoreError> {
        let Some(item) = self.get(format!("CUSTOMER#{user_id}"), "PROFILE").await? else {
            return Ok(None);
        };
        Ok(Some(Customer {
            user_id,
            kyc_status: KycStatus::parse(&item.string("kyc_status")?)
                .ok_or_else(|| item.corrupt("kyc_status"))?,
            account_tier: AccountTier::parse(&item.string("account_tier")?)
                .ok_or_else(|| item.corrupt("account_tier"))?,
            open_wallets: item.number("open_wallets").unwrap_or(0),
        }))
    }

    async fn allocate_wallet_id(&self) -> Result<WalletId, StoreError> {
        next_sequence_value(&self.client, &self.table, "wallets").await
    }

    async fn create_wallet(
        &self,
        wallet: &Wallet,
        max_wallets: u32,
        event: &EventEnvelope,
        receipt: Witness,
    ) -> Result<(), WriteError> {
        let customer = format!("CUSTOMER#{}", wallet.user_id);
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", text(&customer))
            .key("sk", text("PROFILE"))
            .update_expression("ADD open_wallets :one")
            .condition_expression("attribute_exists(pk) AND kyc_status = :verified AND (attribute_not_exists(open_wallets) OR open_wallets < :max)")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":verified", text("verified"))
            .expression_attribute_values(":max", number(max_wallets))
            .build()
            .expect("table, key and expression are set");
        let currency_claim = Item::from([
            ("pk".into(), text(&customer)),
            ("sk".into(), text(format!("CURRENCY#{}", wallet.currency))),
            ("wallet_id".into(), number(wallet.id)),
        ]);
        let listing = Item::from([
            ("pk".into(), text(&customer)),
            ("sk".into(), text(format!("WALLET#{:020}", wallet.id))),
            ("wallet_id".into(), number(wallet.id)),
        ]);
        let items = vec![
            TransactWriteItem::builder().update(count).build(),
            self.put_item(currency_claim, Some("attribute_not_exists(pk)")),
            self.put_item(listing, None),
            self.wallet_put(wallet, false),
            outbox_put(&self.outbox_table, event),
        ];
        transact(&self.client, receipt, items)
            .await
            .map_err(|error| {
                if error.condition_failed_at(1) {
                    WriteError::CurrencyTaken
                } else if error.condition_failed_at(0) {
                    WriteError::NotAllowed
                } else {
                    cancelled(error)
                }
            })
    }

    async fn wallet(&self, id: WalletId) -> Result<Option<Wallet>, StoreError> {
        self.get(wallet_key(id), WALLET_SORT_KEY)
            .await?
            .map(|item| wallet_from_item(&item))
            .transpose()
    }

    async fn wallets_of(&self, user_id: UserId) -> Result<Vec<Wallet>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", text(format!("CUSTOMER#{user_id}")))
            .expression_attribute_values(":prefix", text("WALLET#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let mut wallets = Vec::new();
        for listing in output.items() {
            if let Some(wallet) = self.wallet(listing.number("wallet_id")?).await? {
                wallets.push(wallet);
            }
        }
        Ok(wallets)
    }

    async fn save_status(
        &self,
        previous: &Wallet,
        updated: &Wallet,
        event: &EventEnvelope,
        receipt: Witness,
    ) -> Result<(), WriteError> {
        let mut items = vec![
            self.wallet_put(updated, false),
            outbox_put(&self.outbox_table, event),
        ];
        if updated.status() == WalletStatus::Closed && previous.status() != WalletStatus::Closed {
            // A closed wallet frees its currency and its place in the tier's wallet count.
            let customer = format!("CUSTOMER#{}", updated.user_id);
            let release = Delete::builder()
                .table_name(&self.table)
                .key("pk", text(&customer))
                .key("sk", text(format!("CURRENCY#{}", updated.currency)))
                .build()
                .expect("table and key are set");
            let uncount = Update::builder()
                .table_name(&self.table)
                .key("pk", text(&customer))
                .key("sk", text("PROFILE"))
                .update_expression("ADD open_wallets :minus_one")
                .expression_attribute_values(":minus_one", number(-1))
                .build()
                .expect("table, key and expression are set");
            items.push(TransactWriteItem::builder().delete(release).build());
            items.push(TransactWriteItem::builder().update(uncount).build());
        }
        transact(&self.client, receipt, items)
            .await
            .map_err(cancelled)
    }

    async fn save_deposit(
        &self,
        updated: &Wallet,
        entry: &LedgerEntry,
        event: &EventEnvelope,
        receipt: Witness,
    ) -> Result<(), WriteError> {
        let items = vec![
            self.wallet_put(updated, true),
            self.put_item(entry_item(entry), Some("attribute_not_exists(pk)")),
            outbox_put(&self.outbox_table, event),
        ];
        transact(&self.client, receipt, items)
            .await
            .map_err(cancelled)
    }

    async fn entries(
        &self,
        wallet_id: WalletId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<EntryPage, ListError> {
        let pk = format!("WALLET#{wallet_id}");
        let query = page_query(&self.client, &self.table, &pk, "TX#", limit, cursor)?;
        let (entries, next_cursor) =
            fetch_page(query.scan_index_forward(false), entry_from_item).await?;
        Ok(EntryPage {
            entries,
            next_cursor,
        })
    }
}
