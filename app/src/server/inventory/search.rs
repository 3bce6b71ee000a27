//! The header's search, across every network: an address jumps to its page; a CIDR lists
//! the networks it overlaps (jumping to one typed exactly); leading IPv4 octets list the
//! addresses held in that range; other text lists networks whose name holds it and addresses
//! whose host name or owner starts with it. Every address lookup is an index range scan
//! with a limit, so a search costs the same at a million addresses as at a hundred.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use super::addresses::{like_pattern, view, Search, MAX_SEARCH};
use super::ip::{self, Cidr};
use super::networks;
use crate::error::AppError;
use crate::model::{AddressHit, AddressStatus, NetworkHit, SearchResults};
use crate::server::entities::{address, network};
use crate::server::limits;

/// Most networks and most addresses one search lists.
pub const HITS: u64 = 50;

/// The text columns a search matches by prefix; each has an index on its lower-cased value
/// (migration m20261206_000013).
#[derive(Clone, Copy, Debug)]
pub enum TextColumn {
    Owner,
    Hostname,
}

impl TextColumn {
    /// The indexed expression, written as its index is: PostgreSQL compares it in the "C"
    /// collation, where a prefix's matches are exactly one range, as in SQLite's byte order.
    fn lowered(self, backend: DbBackend) -> SimpleExpr {
        let column = match self {
            TextColumn::Owner => "owner",
            TextColumn::Hostname => "hostname",
        };
        match backend {
            DbBackend::Postgres => Expr::cust(format!("(lower({column}) COLLATE \"C\")")),
            _ => Expr::cust(format!("lower({column})")),
        }
    }
}

/// The addresses whose `column` starts with `prefix` (already lower case), in the order of
/// the column's index (the text, then the address), at most `HITS + 1`.
pub fn prefix_select(
    backend: DbBackend,
    column: TextColumn,
    prefix: &str,
) -> Select<address::Entity> {
    let lowered = column.lowered(backend);
    let mut q = address::Entity::find()
        .filter(Expr::expr(lowered.clone()).gte(prefix))
        .order_by(lowered.clone(), Order::Asc)
        .order_by_asc(address::Column::Ip)
        .limit(HITS + 1);
    if let Some(end) = after_prefix(prefix) {
        q = q.filter(Expr::expr(lowered).lt(end));
    }
    q
}

/// The least string greater than every string that starts with `prefix`: its last
/// character, incremented. `None` when there is none to increment to.
fn after_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value, skipping the surrogate gap char cannot hold.
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Searches every network for `q`.
pub async fn everywhere(db: &impl ConnectionTrait, q: &str) -> Result<SearchResults, AppError> {
    let q = limits::bounded("search", q, MAX_SEARCH)?;
    let q = q.trim();
    if q.is_empty() {
        return Ok(SearchResults::default());
    }
    if q.contains('/') {
        return Ok(match Cidr::parse(q) {
            Ok(cidr) => by_cidr(db, cidr).await?,
            Err(e) => SearchResults {
                message: Some(e.to_string()),
                ..SearchResults::default()
            },
        });
    }
    match Search::parse(q)? {
        None => Ok(SearchResults::default()),
        Some(Search::From(n)) => {
            let addr = ip::from_u128(n);
            Ok(match networks::containing(db, addr).await? {
                Some(_) => SearchResults {
                    jump: Some(format!("/address?ip={addr}")),
                    ..SearchResults::default()
                },
                None => SearchResults {
                    message: Some(format!("{addr} is in no network.")),
                    ..SearchResults::default()
                },
            })
        }
        Some(Search::Range(lo, hi)) => {
            // Held addresses only: a network allocated in full has a row for each free one
            // too, and those are on the network's own page. One read of the (status, ip)
            // index a held status, each stopping at the limit, so a range of a million
            // free rows costs what a range of ten does.
            let mut rows = Vec::new();
            for status in AddressStatus::ALL
                .into_iter()
                .filter(|s| *s != AddressStatus::Free)
            {
                rows.extend(
                    address::Entity::find()
                        .filter(address::Column::Status.eq(status))
                        .filter(address::Column::Ip.gte(lo.to_be_bytes().to_vec()))
                        .filter(address::Column::Ip.lte(hi.to_be_bytes().to_vec()))
                        .order_by_asc(address::Column::Ip)
                        .limit(HITS + 1)
                        .all(db)
                        .await?,
                );
            }
            rows.sort_by(|a, b| a.ip.cmp(&b.ip));
            let mut found = with_addresses(db, rows).await?;
            found.networks = overlapping(db, lo, hi).await?;
            Ok(found)
        }
        Some(Search::Text(text)) => {
            let backend = db.get_database_backend();
            let mut rows = prefix_select(backend, TextColumn::Hostname, &text)
                .all(db)
                .await?;
            rows.extend(
                prefix_select(backend, TextColumn::Owner, &text)
                    .all(db)
                    .await?,
            );
            rows.sort_by(|a, b| a.ip.cmp(&b.ip));
            rows.dedup_by_key(|r| r.id);
            let mut found = with_addresses(db, rows).await?;
            found.networks = named(db, &text).await?;
            Ok(found)
        }
    }
}

/// Results listing `rows` (at most [`HITS`] of them, saying whether there were more), each
/// with its network, read in one query.
async fn with_addresses(
    db: &impl ConnectionTrait,
    mut rows: Vec<address::Model>,
) -> Result<SearchResults, AppError> {
    let more = rows.len() as u64 > HITS;
    rows.truncate(HITS as usize);
    let ids: Vec<i64> = rows.iter().map(|r| r.network_id).collect();
    let nets: HashMap<i64, network::Model> = network::Entity::find()
        .filter(network::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let addresses = rows
        .into_iter()
        .filter_map(|r| {
            let network = hit(nets.get(&r.network_id)?.clone());
            Some(AddressHit {
                address: view(r),
                network,
            })
        })
        .collect();
    Ok(SearchResults {
        addresses,
        more_addresses: more,
        ..SearchResults::default()
    })
}

async fn by_cidr(db: &impl ConnectionTrait, cidr: Cidr) -> Result<SearchResults, AppError> {
    let (lo, hi) = cidr.range();
    let nets = overlapping(db, lo, hi).await?;
    let exact = nets.iter().find(|n| n.cidr == cidr.to_string());
    Ok(SearchResults {
        jump: exact.map(|n| format!("/networks/{}", n.id)),
        message: nets
            .is_empty()
            .then(|| format!("No network overlaps {cidr}.")),
        networks: nets,
        ..SearchResults::default()
    })
}

/// The networks that share an address with `lo..=hi`.
async fn overlapping(
    db: &impl ConnectionTrait,
    lo: u128,
    hi: u128,
) -> Result<Vec<NetworkHit>, AppError> {
    let nets = network::Entity::find()
        .filter(network::Column::FirstIp.lte(hi.to_be_bytes().to_vec()))
        .filter(network::Column::LastIp.gte(lo.to_be_bytes().to_vec()))
        .order_by_asc(network::Column::FirstIp)
        .limit(HITS)
        .all(db)
        .await?;
    Ok(nets.into_iter().map(hit).collect())
}

/// The networks whose name holds `text` (lower case). Networks are few beside addresses;
/// their names are searched anywhere, not only at the start.
async fn named(db: &impl ConnectionTrait, text: &str) -> Result<Vec<NetworkHit>, AppError> {
    use sea_orm::sea_query::Func;
    let lower: SimpleExpr = Func::lower(Expr::col(network::Column::Name)).into();
    let nets = network::Entity::find()
        .filter(Expr::expr(lower).like(like_pattern("%", text, "%")))
        .order_by_asc(network::Column::FirstIp)
        .limit(HITS)
        .all(db)
        .await?;
    Ok(nets.into_iter().map(hit).collect())
}

fn hit(n: network::Model) -> NetworkHit {
    NetworkHit {
        id: n.id,
        cidr: n.cidr,
        name: n.name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_where_its_last_character_is_passed() {
        assert_eq!(after_prefix("web").as_deref(), Some("wec"));
        assert_eq!(after_prefix("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(after_prefix("x\u{10ffff}").as_deref(), Some("y"));
        assert_eq!(after_prefix("\u{10ffff}"), None);
    }

    proptest::proptest! {
        /// Every string that starts with a prefix sorts before the prefix's end, by code
        /// point (SQLite's byte order of UTF-8 and PostgreSQL's "C" collation agree).
        #[test]
        fn every_match_lies_below_the_end(prefix in ".{1,8}", rest in ".{0,8}") {
            if let Some(end) = after_prefix(&prefix) {
                let candidate = format!("{prefix}{rest}");
                proptest::prop_assert!(candidate.as_str() >= prefix.as_str());
                proptest::prop_assert!(candidate < end);
            }
        }
    }
}
