//! Reading addresses: a network's addresses page by page (by key, never by OFFSET), the
//! search box's meaning, and one address with its history.

use std::net::IpAddr;

use sea_orm::prelude::TimeDateTimeWithTimeZone;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};

use super::{never_handed_out, parse, view};
use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::check::verdict::CHECKER;
use crate::server::entities::{address, address_event, network};
use crate::server::inventory::ip;
use crate::server::inventory::map::{self, Span};
use crate::server::inventory::networks;
use crate::server::time_fmt::show;

/// Rows per page of an address list.
pub const PAGE_SIZE: u64 = 100;

/// What a search box holds: an address to start at, whole leading octets of an IPv4
/// address (`198.18.3` is 198.18.3.0 to 198.18.3.255), or the start of a host name or owner.
#[derive(Debug, PartialEq, Eq)]
pub enum Search {
    From(u128),
    Range(u128, u128),
    Text(String),
}

/// Longest search text: longer than any host name or owner it could start, and far below
/// SQLite's limit on LIKE patterns (past which a search answered 500).
pub const MAX_SEARCH: usize = 256;

impl Search {
    /// What `q` searches for; `None` for an empty box, an error for an over-long one.
    pub fn parse(q: &str) -> Result<Option<Search>, AppError> {
        let q = crate::server::limits::bounded("search", q, MAX_SEARCH)?;
        Ok(Self::parse_bounded(&q))
    }

    fn parse_bounded(q: &str) -> Option<Search> {
        if q.is_empty() {
            return None;
        }
        if let Ok(addr) = q.parse::<IpAddr>() {
            return Some(Search::From(ip::to_u128(addr)));
        }
        let octets: Vec<&str> = q.trim_end_matches('.').split('.').collect();
        let numeric = octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()));
        if numeric && octets.len() < 4 {
            let values: Option<Vec<u8>> = octets.iter().map(|o| o.parse::<u8>().ok()).collect();
            if let Some(values) = values {
                let mut lo = [0u8; 4];
                let mut hi = [255u8; 4];
                for (i, v) in values.iter().enumerate() {
                    lo[i] = *v;
                    hi[i] = *v;
                }
                let as_n = |o: [u8; 4]| ip::to_u128(IpAddr::from(o));
                return Some(Search::Range(as_n(lo), as_n(hi)));
            }
        }
        Some(Search::Text(q.to_lowercase()))
    }

    /// The search as a condition on addresses: a range of `ip`, or text that starts one
    /// of `text_columns` (case-insensitive).
    pub fn condition(self, text_columns: &[address::Column]) -> sea_orm::Condition {
        use sea_orm::sea_query::{Func, SimpleExpr};
        use sea_orm::Condition;
        match self {
            Search::From(n) => {
                Condition::all().add(address::Column::Ip.gte(n.to_be_bytes().to_vec()))
            }
            Search::Range(lo, hi) => Condition::all()
                .add(address::Column::Ip.gte(lo.to_be_bytes().to_vec()))
                .add(address::Column::Ip.lte(hi.to_be_bytes().to_vec())),
            Search::Text(text) => {
                let pattern = like_pattern("", &text, "%");
                text_columns.iter().fold(Condition::any(), |any, c| {
                    let lower: SimpleExpr = Func::lower(Expr::col(*c)).into();
                    any.add(Expr::expr(lower).like(pattern.clone()))
                })
            }
        }
    }
}

/// A LIKE pattern that matches `text` literally (its `%`, `_` and backslashes escaped) between
/// `before` and `after` wildcards.
pub(crate) fn like_pattern(before: &str, text: &str, after: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("{before}{escaped}{after}")).escape('\\')
}

/// A page of a network's addresses in numeric order: after `after`, before `before`, the
/// last page when `last`, else the first; optionally of one status only, or matching a
/// search. Every variant is a range scan of the (network, ip) or (network, status, ip)
/// index.
pub async fn page(
    db: &impl ConnectionTrait,
    network_id: i64,
    list: &ListQuery<'_>,
) -> Result<crate::model::AddressPage, AppError> {
    Ok(
        page_with_network(db, network_id, list, Detail::WithChecks, false)
            .await?
            .1,
    )
}

/// How much of each address a page of them reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Everything a list shows, its last check and problem included (the API's lists).
    WithChecks,
    /// What a network page's rows show: the address, its status and holder, and since
    /// when. Its last check and problem stay unread (`None`): a page of a hundred rows
    /// spent most of its read copying column values.
    Rows,
}

/// What a list shows of an address, and all a page of a hundred reads of each. Decoding
/// rows was the largest part of a network page's server time in a profile; a list read all
/// sixteen columns of each before.
#[derive(Debug, FromQueryResult)]
pub struct Listed {
    pub ip: Vec<u8>,
    pub network_id: i64,
    pub status: AddressStatus,
    pub owner: String,
    pub hostname: String,
    pub note: String,
    pub status_changed_at: TimeDateTimeWithTimeZone,
    pub last_checked_at: Option<TimeDateTimeWithTimeZone>,
    pub problem: Option<String>,
    pub problem_since: Option<TimeDateTimeWithTimeZone>,
}

impl Listed {
    /// The columns [`Listed`] reads.
    const COLUMNS: [address::Column; 10] = [
        address::Column::Ip,
        address::Column::NetworkId,
        address::Column::Status,
        address::Column::Owner,
        address::Column::Hostname,
        address::Column::Note,
        address::Column::StatusChangedAt,
        address::Column::LastCheckedAt,
        address::Column::Problem,
        address::Column::ProblemSince,
    ];

    /// The columns [`Detail::Rows`] reads: [`Listed::COLUMNS`] but the network's id (the
    /// page knows it) and the last check and problem.
    const ROW_COLUMNS: [address::Column; 6] = [
        address::Column::Ip,
        address::Column::Status,
        address::Column::Owner,
        address::Column::Hostname,
        address::Column::Note,
        address::Column::StatusChangedAt,
    ];
}

/// What [`Detail::Rows`] reads of an address.
#[derive(Debug, FromQueryResult)]
struct RowRead {
    ip: Vec<u8>,
    status: AddressStatus,
    owner: String,
    hostname: String,
    note: String,
    status_changed_at: TimeDateTimeWithTimeZone,
}

impl RowRead {
    fn listed(self, network_id: i64) -> Listed {
        Listed {
            ip: self.ip,
            network_id,
            status: self.status,
            owner: self.owner,
            hostname: self.hostname,
            note: self.note,
            status_changed_at: self.status_changed_at,
            last_checked_at: None,
            problem: None,
            problem_since: None,
        }
    }
}

impl From<address::Model> for Listed {
    fn from(row: address::Model) -> Self {
        Listed {
            ip: row.ip,
            network_id: row.network_id,
            status: row.status,
            owner: row.owner,
            hostname: row.hostname,
            note: row.note,
            status_changed_at: row.status_changed_at,
            last_checked_at: row.last_checked_at,
            problem: row.problem,
            problem_since: row.problem_since,
        }
    }
}

/// Which of a network's addresses a list shows, and where it stands in them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListQuery<'a> {
    pub status: Option<AddressStatus>,
    pub search: Option<&'a str>,
    pub after: Option<&'a str>,
    pub before: Option<&'a str>,
    pub last: bool,
}

/// The network and a page of its addresses ([`page`]), the two read in one statement; with
/// `span`, the network's [`Span`] too, for its map.
pub async fn page_with_network(
    db: &impl ConnectionTrait,
    network_id: i64,
    list: &ListQuery<'_>,
    detail: Detail,
    span: bool,
) -> Result<(network::Model, crate::model::AddressPage, Option<Span>), AppError> {
    let mut q = address::Entity::find().filter(address::Column::NetworkId.eq(network_id));
    if let Some(s) = list.status {
        q = q.filter(address::Column::Status.eq(s));
    }
    let search = Search::parse(list.search.unwrap_or(""))?;
    let unfiltered = list.status.is_none() && search.is_none();
    if let Some(search) = search {
        q = q.filter(search.condition(&[address::Column::Hostname, address::Column::Owner]));
    }
    let keys = Keys::new(list.after, list.before, list.last)?;
    let (net, rows, span) = network_with_rows(
        db,
        network_id,
        keys.query(q.clone()),
        keys.backwards(),
        detail,
        span,
    )
    .await?;
    let (rows, next_after, prev_before) = keys.page(rows, |r| &r.ip);
    let (total, first_position) = match rows.first() {
        None => (q.count(db).await?, 0),
        // A materialized network has a row for each allocatable address, in one unbroken
        // run: where a row stands, and how many there are, is arithmetic, not a count of
        // up to a million index entries.
        Some(first) if unfiltered && net.materialized => {
            let (alloc_first, alloc_last) = networks::cidr_of(&net)?.allocatable();
            let at = ip::from_bytes(&first.ip).map_or(alloc_first, ip::to_u128);
            (
                u64::try_from(alloc_last - alloc_first + 1).unwrap_or(u64::MAX),
                u64::try_from(at.saturating_sub(alloc_first) + 1).unwrap_or(u64::MAX),
            )
        }
        // A filtered list's first page that holds the whole list is its own total.
        Some(_) if keys.first_page() && next_after.is_none() => (rows.len() as u64, 1),
        Some(first) => {
            let total = q.clone().count(db).await?;
            let start = match keys.known_start(total, rows.len()) {
                Some(start) => start,
                None => {
                    q.filter(address::Column::Ip.lt(first.ip.clone()))
                        .count(db)
                        .await?
                        + 1
                }
            };
            (total, start)
        }
    };
    let page = crate::model::AddressPage {
        rows: rows.into_iter().map(Listed::view).collect(),
        total,
        first_position,
        next_after,
        prev_before,
    };
    Ok((net, page, span))
}

/// Network `network_id` beside the rows `rows` selects, in one statement: the network left
/// joined to the page of rows (a bounded subquery), each output row carrying both, the
/// network's columns prefixed `n_` and the address's `a_`; with `span`, its lowest and
/// highest address on record too (two scalar subqueries, each one probe of the index: an
/// IPv6 network's page read them apart, two statements more). Not found when there is no
/// such network.
async fn network_with_rows(
    db: &impl ConnectionTrait,
    network_id: i64,
    rows: Select<address::Entity>,
    backwards: bool,
    detail: Detail,
    span: bool,
) -> Result<(network::Model, Vec<Listed>, Option<Span>), AppError> {
    use sea_orm::sea_query::{Alias, JoinType, Order, Query};
    use sea_orm::{IdenStatic, Iterable, QueryTrait};
    let (n, a) = (Alias::new("n"), Alias::new("a"));
    let mut both = Query::select();
    for c in network::Column::iter() {
        both.expr_as(
            Expr::col((n.clone(), c)),
            Alias::new(format!("n_{}", c.as_str())),
        );
    }
    let columns: &[address::Column] = match detail {
        Detail::WithChecks => &Listed::COLUMNS,
        Detail::Rows => &Listed::ROW_COLUMNS,
    };
    for &c in columns {
        both.expr_as(
            Expr::col((a.clone(), c)),
            Alias::new(format!("a_{}", c.as_str())),
        );
    }
    if span {
        for (edge, name) in map::span_columns(network_id) {
            both.expr_as(edge, name);
        }
    }
    both.from_as(network::Entity, n.clone())
        .join_subquery(
            JoinType::LeftJoin,
            rows.into_query(),
            a.clone(),
            Expr::cust("1 = 1"),
        )
        .and_where(Expr::col((n, network::Column::Id)).eq(network_id))
        .order_by(
            (a, address::Column::Ip),
            if backwards { Order::Desc } else { Order::Asc },
        );
    let found = db.query_all(db.get_database_backend().build(&both)).await?;
    let (net, span) = match found.first() {
        Some(row) => {
            let span = if span {
                Some(map::span_of_row(row)?)
            } else {
                None
            };
            (network::Model::from_query_result(row, "n_")?, span)
        }
        None => {
            return Err(AppError::NotFound(format!(
                "There is no network with id {network_id}."
            )))
        }
    };
    let mut rows = Vec::with_capacity(found.len());
    for row in &found {
        let address = match detail {
            Detail::WithChecks => Listed::from_query_result_optional(row, "a_")?,
            Detail::Rows => {
                RowRead::from_query_result_optional(row, "a_")?.map(|r| r.listed(network_id))
            }
        };
        rows.extend(address);
    }
    Ok((net, rows, span))
}

/// Where a page starts: after a key, before one, at the end, or at the start. The query
/// reads one row more than a page, to know whether there is another.
struct Keys<'a> {
    after: Option<&'a str>,
    before: Option<&'a str>,
    last: bool,
    bound: Option<Vec<u8>>,
}

impl<'a> Keys<'a> {
    fn new(after: Option<&'a str>, before: Option<&'a str>, last: bool) -> Result<Self, AppError> {
        let after = after.map(str::trim).filter(|a| !a.is_empty());
        let before = before.map(str::trim).filter(|b| !b.is_empty());
        let bound = match after.or(before) {
            Some(key) => Some(ip::to_bytes(parse(key)?)),
            None => None,
        };
        Ok(Keys {
            after,
            before,
            last,
            bound,
        })
    }

    fn backwards(&self) -> bool {
        self.before.is_some() || self.last
    }

    /// The list's first page: no key to start from, and not its end.
    fn first_page(&self) -> bool {
        self.bound.is_none() && !self.last
    }

    /// Where a page of `shown` rows of a list of `total` starts, when that follows from
    /// which page it is: the first starts at 1, the last ends at the total. `None` for a
    /// page after or before a key, whose start is counted: counting what is known was a
    /// statement more per page.
    fn known_start(&self, total: u64, shown: usize) -> Option<u64> {
        match (self.bound.is_none(), self.last) {
            (true, false) => Some(1),
            (true, true) => Some(total.saturating_sub(shown as u64) + 1),
            (false, _) => None,
        }
    }

    /// `q` narrowed to the page, in the order it is read.
    fn query(&self, mut q: Select<address::Entity>) -> Select<address::Entity> {
        if let Some(bound) = self.bound.clone() {
            q = q.filter(if self.after.is_some() {
                address::Column::Ip.gt(bound)
            } else {
                address::Column::Ip.lt(bound)
            });
        }
        let q = if self.backwards() {
            q.order_by_desc(address::Column::Ip)
        } else {
            q.order_by_asc(address::Column::Ip)
        };
        q.limit(PAGE_SIZE + 1)
    }

    /// The rows read by [`Keys::query`] as a page in numeric order, with the keys of the
    /// next and the previous page, where there is one.
    fn page<R>(
        &self,
        mut rows: Vec<R>,
        ip_of: impl Fn(&R) -> &[u8],
    ) -> (Vec<R>, Option<String>, Option<String>) {
        let more = rows.len() as u64 > PAGE_SIZE;
        rows.truncate(PAGE_SIZE as usize);
        if self.backwards() {
            rows.reverse();
        }
        let shown = |row: Option<&R>| {
            row.and_then(|r| ip::from_bytes(ip_of(r)))
                .map(|a| a.to_string())
        };
        let (has_prev, has_next) = if self.backwards() {
            (more, self.before.is_some())
        } else {
            (self.after.is_some(), more)
        };
        let next_after = if has_next { shown(rows.last()) } else { None };
        let prev_before = if has_prev { shown(rows.first()) } else { None };
        (rows, next_after, prev_before)
    }
}

/// Where a page of `shown` rows of `total` read by [`page_by_key`] with `after`, `before`
/// and `last` starts, when that follows from which page it is (`None`: count it).
pub(crate) fn known_start(
    after: Option<&str>,
    before: Option<&str>,
    last: bool,
    total: u64,
    shown: usize,
) -> Result<Option<u64>, AppError> {
    Ok(Keys::new(after, before, last)?.known_start(total, shown))
}

/// One page of the addresses `q` selects, in numeric order and by key: after `after`,
/// before `before`, the last page when `last`, else the first. Returns the rows and the
/// keys of the next and the previous page, where there is one.
pub(crate) async fn page_by_key(
    db: &impl ConnectionTrait,
    q: Select<address::Entity>,
    after: Option<&str>,
    before: Option<&str>,
    last: bool,
) -> Result<(Vec<address::Model>, Option<String>, Option<String>), AppError> {
    let keys = Keys::new(after, before, last)?;
    let rows = keys.query(q).all(db).await?;
    Ok(keys.page(rows, |r| &r.ip))
}

/// How much of an address's history [`record`] reads.
#[derive(Clone, Copy, Debug)]
pub enum History {
    /// Every event, for the address page.
    Everything,
    /// The check engine's last verdicts, at most this many, for the API.
    LastChecks(u64),
    /// None: the row is all the caller needs.
    Nothing,
}

/// An address as stored: the network it lies in, its row (none for a free address of a
/// sparse network), and its history newest first.
pub struct Record {
    pub network: network::Model,
    pub row: Option<address::Model>,
    pub events: Vec<address_event::Model>,
}

/// The stored record of `ip`; not found when no network holds it.
pub async fn record(
    db: &impl ConnectionTrait,
    ip: IpAddr,
    history: History,
) -> Result<Record, AppError> {
    let row = address::Entity::find_by_ip(ip).one(db).await?;
    let network = match &row {
        Some(row) => networks::find(db, row.network_id).await?,
        None => networks::containing(db, ip)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("{ip} is in no network.")))?,
    };
    let events = match &row {
        None => Vec::new(),
        Some(row) => {
            let q = address_event::Entity::find()
                .filter(address_event::Column::AddressId.eq(row.id))
                .order_by_desc(address_event::Column::Id);
            match history {
                History::Everything => q.all(db).await?,
                History::LastChecks(n) => {
                    q.filter(address_event::Column::ActorName.eq(CHECKER))
                        .filter(address_event::Column::ActorId.is_null())
                        .limit(n)
                        .all(db)
                        .await?
                }
                History::Nothing => Vec::new(),
            }
        }
    };
    Ok(Record {
        network,
        row,
        events,
    })
}

/// An address with its history, newest first.
pub async fn detail(
    db: &impl ConnectionTrait,
    address: &str,
) -> Result<crate::model::AddressDetail, AppError> {
    let ip = parse(address)?;
    let record = record(db, ip, History::Everything).await?;
    let address = match record.row {
        Some(row) => view(row),
        None => never_held(&record.network, ip)?,
    };
    Ok(crate::model::AddressDetail {
        address,
        check_policy: networks::policy_of(&record.network).to_string(),
        network_cidr: record.network.cidr,
        history: record
            .events
            .into_iter()
            .map(|e| crate::model::AddressEventView {
                holder: holder_text(&e),
                at: show(e.at),
                actor: e.actor_name,
                from: e.from_status,
                to: e.to_status,
                reason: e.reason,
                evidence: e.evidence,
            })
            .collect(),
    })
}

/// An address of `net` without a row: nobody has ever held it, so it is free (most of a
/// large IPv6 network is). An IPv4 network's own and broadcast addresses are the exception.
fn never_held(net: &network::Model, ip: IpAddr) -> Result<crate::model::AddressView, AppError> {
    if let Some(why) = never_handed_out(net, ip::to_u128(ip))? {
        return Err(AppError::NotFound(why));
    }
    Ok(crate::model::AddressView {
        address: ip.to_string(),
        network_id: net.id,
        status: AddressStatus::Free,
        owner: String::new(),
        hostname: String::new(),
        note: String::new(),
        status_changed_at: "never held".into(),
        last_checked_at: None,
        problem: None,
        problem_since: None,
    })
}

/// An event's holder in one line: "Acme · web1.example.net · rack 4", without the parts
/// that were empty; `None` when all were.
fn holder_text(e: &address_event::Model) -> Option<String> {
    let parts: Vec<&str> = [&e.owner, &e.hostname, &e.note]
        .into_iter()
        .map(|s| s.as_str())
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> u128 {
        ip::to_u128(s.parse().unwrap())
    }

    #[test]
    fn searches_read_as_people_mean_them() {
        assert_eq!(
            Search::parse("198.18.3.7").unwrap(),
            Some(Search::From(n("198.18.3.7")))
        );
        assert_eq!(
            Search::parse("2001:2::1").unwrap(),
            Some(Search::From(n("2001:2::1")))
        );
        assert_eq!(
            Search::parse("198.18.3").unwrap(),
            Some(Search::Range(n("198.18.3.0"), n("198.18.3.255")))
        );
        assert_eq!(
            Search::parse("198.18.").unwrap(),
            Some(Search::Range(n("198.18.0.0"), n("198.18.255.255")))
        );
        assert_eq!(
            Search::parse(" Web1 ").unwrap(),
            Some(Search::Text("web1".into()))
        );
        assert_eq!(
            Search::parse("198.300").unwrap(),
            Some(Search::Text("198.300".into()))
        );
        assert_eq!(Search::parse("  ").unwrap(), None);
        assert!(Search::parse(&"w".repeat(MAX_SEARCH)).is_ok());
        assert!(matches!(
            Search::parse(&"w".repeat(MAX_SEARCH + 1)),
            Err(AppError::BadRequest(m)) if m.contains("at most 256")
        ));
    }

    proptest::proptest! {
        /// Whatever is typed into the box, the search parses without a panic, and an
        /// address typed whole is where the list starts.
        #[test]
        fn any_search_text_parses(q in ".{0,300}", v6 in proptest::prelude::any::<u128>()) {
            let _ = Search::parse(&q);
            let addr = IpAddr::from(std::net::Ipv6Addr::from(v6));
            proptest::prop_assert_eq!(
                Search::parse(&addr.to_string()).unwrap(),
                Some(Search::From(ip::to_u128(addr)))
            );
        }
    }
}
