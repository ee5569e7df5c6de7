//! Numbered pages over one key range (a partition of the table or of an index, optionally
//! narrowed to a sort-key prefix or span): how many items it holds, one page of them, or all
//! of them. Admin pages number their pages and show a total; DynamoDB pages by key, so a
//! page at an offset reads the items before it (keys only where it can) and a total is a
//! `Select=COUNT` Query of the range. Queries only, never a Scan.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;

use super::item::{Item, s};
use super::{DynamoStore, map_sdk};
use crate::domain::{Metric, Scope, TableQuery};
use crate::error::StoreResult;
use crate::store::Counted;

/// One key range.
#[derive(Debug, Clone)]
pub(super) struct Range {
    /// `None`: the table itself.
    pub index: Option<&'static str>,
    pub pk_attr: &'static str,
    pub sk_attr: &'static str,
    pub pk: String,
    pub sk: SortKeys,
    pub newest_first: bool,
}

/// Which sort keys of the partition the range holds.
#[derive(Debug, Clone)]
pub(super) enum SortKeys {
    All,
    Prefix(String),
    /// Inclusive bounds.
    Between(String, String),
}

impl Range {
    /// A partition of the table, narrowed to sort keys starting with `prefix`.
    pub fn table_prefix(pk: String, prefix: &str) -> Self {
        Self {
            index: None,
            pk_attr: "pk",
            sk_attr: "sk",
            pk,
            sk: SortKeys::Prefix(prefix.to_string()),
            newest_first: true,
        }
    }

    /// A whole partition of a global secondary index (`gsiN`), newest first.
    pub fn index(
        index: &'static str,
        pk_attr: &'static str,
        sk_attr: &'static str,
        pk: &str,
    ) -> Self {
        Self {
            index: Some(index),
            pk_attr,
            sk_attr,
            pk: pk.to_string(),
            sk: SortKeys::All,
            newest_first: true,
        }
    }

    fn query(&self, store: &DynamoStore) -> QueryFluentBuilder {
        let mut q = store
            .client
            .query()
            .table_name(&store.table)
            .set_index_name(self.index.map(str::to_string))
            .expression_attribute_names("#pk", self.pk_attr)
            .expression_attribute_values(":pk", s(self.pk.as_str()))
            .scan_index_forward(!self.newest_first)
            // Base-table ranges are read consistently; index reads cannot be.
            .consistent_read(self.index.is_none());
        q = match &self.sk {
            SortKeys::All => q.key_condition_expression("#pk = :pk"),
            SortKeys::Prefix(p) => q
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                .expression_attribute_names("#sk", self.sk_attr)
                .expression_attribute_values(":p", s(p.as_str())),
            SortKeys::Between(a, b) => q
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :a AND :b")
                .expression_attribute_names("#sk", self.sk_attr)
                .expression_attribute_values(":a", s(a.as_str()))
                .expression_attribute_values(":b", s(b.as_str())),
        };
        q
    }
}

impl DynamoStore {
    /// How many items the range holds (a paged `Select=COUNT` Query).
    pub(super) async fn count_range(&self, r: &Range) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = r
                .query(self)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            total += out.count().max(0) as u64;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(total),
            }
        }
    }

    /// The items after the first `offset`, at most `limit` of them.
    pub(super) async fn page_range(
        &self,
        r: &Range,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<Item>> {
        let mut skip = offset as usize;
        let mut items = Vec::new();
        let mut start = None;
        while items.len() < limit as usize {
            let want = skip + limit as usize - items.len();
            let out = r
                .query(self)
                .limit(want.min(1000) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            for item in out.items.unwrap_or_default() {
                if skip > 0 {
                    skip -= 1;
                } else if items.len() < limit as usize {
                    items.push(item);
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(items)
    }

    /// An admin table over one `gsi3` partition (`USERS`, `ROOMS`): the plain form is one
    /// index page beside the maintained total (the sum of `totals`); any other reads the
    /// partition and leaves filter, order and page to the query (`domain::listing`).
    pub(super) async fn admin_table<Q: TableQuery>(
        &self,
        partition: &str,
        q: &Q,
        totals: &[Metric],
        decode: fn(&Item) -> StoreResult<Q::Row>,
    ) -> StoreResult<Counted<Q::Row>> {
        let range = Range::index("gsi3", "gsi3pk", "gsi3sk", partition);
        if q.is_plain() {
            let all = [Scope::all()];
            let (items, tallies) = tokio::try_join!(
                self.page_range(&range, q.offset(), q.limit()),
                self.read_tallies(&all),
            )?;
            let total: i64 = totals.iter().map(|m| tallies.total(*m)).sum();
            return Ok(Counted {
                total: total.max(0) as u64,
                items: items.iter().map(decode).collect::<StoreResult<_>>()?,
            });
        }
        let all = self
            .all_in_range(&range)
            .await?
            .iter()
            .map(decode)
            .collect::<StoreResult<Vec<_>>>()?;
        let (total, items) = q.apply(all);
        Ok(Counted { total, items })
    }

    /// Every item of the range, in order (lists whose filters DynamoDB cannot index).
    pub(super) async fn all_in_range(&self, r: &Range) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = r
                .query(self)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}
