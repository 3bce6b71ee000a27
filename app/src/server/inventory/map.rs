//! The subnet map of a network's page: a grid of at most 256 cells. A block of 256
//! addresses or fewer is drawn address by address; a larger one as its sub-blocks (a /16 as
//! 256 /24s), each shaded by how many of its addresses are in use and marked when any is a
//! problem, opening the sub-block's own map. An IPv6 network starts at the deepest block
//! that still holds every address on record, since its used addresses are a speck of it.
//!
//! A block's counts come from one grouped query over the block's addresses in use, by the
//! (network, status, ip) index, so a map costs one read of the rows in use in the block
//! drawn (every row of a block of 256 or fewer). A block whose million addresses are all
//! in use is still a million rows to group.

use std::collections::HashMap;
use std::net::IpAddr;

use sea_orm::sea_query::{Alias, Expr, Order, Query, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryResult, QuerySelect, Select,
};

use super::ip::{self, Cidr};
use super::networks;
use crate::error::AppError;
use crate::model::{AddressStatus, MapCells, SubnetMap};
use crate::server::entities::{address, network};

/// Most cells a map draws: a 16 × 16 grid.
const CELLS: u32 = 256;

/// The map of `block` of network `network_id` (the whole network when `None`).
pub async fn map(
    db: &impl ConnectionTrait,
    network_id: i64,
    block: Option<&str>,
) -> Result<SubnetMap, AppError> {
    let net = networks::find(db, network_id).await?;
    Ok(map_of(db, &net, block, None).await?.0)
}

/// The lowest and the highest of a network's addresses on record; `None` when it has none.
pub type Span = Option<(IpAddr, IpAddr)>;

/// How many of a network's addresses are in each status it counts, as the map's read found
/// them.
pub type StatusCounts = Vec<(AddressStatus, u64)>;

/// The map of `block` of `net` (the whole network when `None`), and, when the map spans
/// every address on record, the network's counts by status, which its one read gave.
/// `span`: the network's [`Span`] when the caller read it already (an IPv6 network's map
/// starts at the deepest block holding it), else it is read here.
pub async fn map_of(
    db: &impl ConnectionTrait,
    net: &network::Model,
    block: Option<&str>,
    span: Option<Span>,
) -> Result<(SubnetMap, Option<StatusCounts>), AppError> {
    let whole = networks::cidr_of(net)?;
    let block = block.map(str::trim).filter(|b| !b.is_empty());
    let (mut view, mut skipped) = match block {
        None => (whole, None),
        Some(b) => {
            let b = crate::server::limits::bounded("block", b, 64)?;
            let cidr = Cidr::parse(&b).map_err(|e| AppError::BadRequest(e.to_string()))?;
            if cidr.family() != whole.family()
                || cidr.prefix() < whole.prefix()
                || !whole.contains(cidr.network())
            {
                return Err(AppError::BadRequest(format!(
                    "{cidr} is not a block of {whole}."
                )));
            }
            (cidr, None)
        }
    };
    if block.is_none() && whole.family() == 6 {
        let span = match span {
            Some(span) => span,
            None => read_span(db, net.id).await?,
        };
        if let Some(deeper) = deepest_holding_all(span, whole) {
            if deeper != whole {
                skipped = Some(format!(
                    "Only {deeper} holds addresses on record; the rest of {whole} is free."
                ));
                view = deeper;
            }
        }
    }
    let up = (view != whole).then(|| {
        let step = parent_prefix(view.prefix(), whole.prefix());
        Cidr::around(view.network(), step).to_string()
    });
    let (cells, counts) = if view.size() <= u128::from(CELLS) {
        address_cells(db, net, view).await?
    } else {
        block_cells(db, net.id, view).await?
    };
    // The whole network, or (IPv6) the deepest block holding every address on record.
    let spans_all = block.is_none();
    let map = SubnetMap {
        block: view.to_string(),
        up,
        skipped,
        cells,
    };
    Ok((map, spans_all.then_some(counts)))
}

/// Adds `n` addresses of `status` to `counts`.
fn count_in(counts: &mut StatusCounts, status: AddressStatus, n: u64) {
    match counts.iter_mut().find(|(s, _)| *s == status) {
        Some((_, total)) => *total += n,
        None => counts.push((status, n)),
    }
}

/// The prefix of a block's cells: eight bits further (256 cells), but never finer than
/// blocks of 256 addresses, which the next level draws address by address.
fn cell_prefix(view: Cidr) -> u8 {
    let width = if view.family() == 4 { 32 } else { 128 };
    (view.prefix() + 8).min(width - 8)
}

/// The block one level up from a block of `prefix`, as [`cell_prefix`] steps down from the
/// network's `top`.
fn parent_prefix(prefix: u8, top: u8) -> u8 {
    let mut p = top;
    while p + 8 < prefix {
        p += 8;
    }
    p
}

/// The two scalar subqueries that read network `network_id`'s [`Span`], each one probe of
/// the (network, ip) index, named as [`span_of_row`] finds them: columns of whichever
/// statement needs the span.
pub(crate) fn span_columns(network_id: i64) -> [(SimpleExpr, Alias); 2] {
    [("s_lo", Order::Asc), ("s_hi", Order::Desc)].map(|(name, order)| {
        let edge = Query::select()
            .column(address::Column::Ip)
            .from(address::Entity)
            .and_where(Expr::col(address::Column::NetworkId).eq(network_id))
            .order_by(address::Column::Ip, order)
            .limit(1)
            .to_owned();
        (
            SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(edge))),
            Alias::new(name),
        )
    })
}

/// The [`Span`] a row read with [`span_columns`] holds.
pub(crate) fn span_of_row(row: &QueryResult) -> Result<Span, DbErr> {
    let edge = |name| row.try_get::<Option<Vec<u8>>>("", name);
    let (lo, hi) = (edge("s_lo")?, edge("s_hi")?);
    Ok(lo
        .zip(hi)
        .and_then(|(lo, hi)| ip::from_bytes(&lo).zip(ip::from_bytes(&hi))))
}

/// Network `network_id`'s [`Span`], in a statement of its own.
async fn read_span(db: &impl ConnectionTrait, network_id: i64) -> Result<Span, AppError> {
    let mut q = Query::select();
    for (edge, name) in span_columns(network_id) {
        q.expr_as(edge, name);
    }
    let row = db.query_one(db.get_database_backend().build(&q)).await?;
    Ok(match row {
        Some(row) => span_of_row(&row)?,
        None => None,
    })
}

/// For an IPv6 network, the deepest block on the map's eight-bit steps that holds both its
/// lowest and highest address on record; `None` when it holds none.
fn deepest_holding_all(span: Span, whole: Cidr) -> Option<Cidr> {
    let (lo, hi) = span?;
    let mut view = whole;
    while view.size() > u128::from(CELLS) {
        let next = Cidr::around(lo, cell_prefix(view));
        if !next.contains(hi) {
            break;
        }
        view = next;
    }
    Some(view)
}

/// One cell per address of `view` (256 or fewer): a row's status, free where there is no
/// row, and none for an IPv4 network's own and broadcast address.
async fn address_cells(
    db: &impl ConnectionTrait,
    net: &network::Model,
    view: Cidr,
) -> Result<(MapCells, StatusCounts), AppError> {
    let (lo, hi) = view.range();
    let rows: HashMap<u128, address::Model> = address::Entity::find()
        .filter(address::Column::NetworkId.eq(net.id))
        .filter(address::Column::Ip.gte(lo.to_be_bytes().to_vec()))
        .filter(address::Column::Ip.lte(hi.to_be_bytes().to_vec()))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| Some((ip::to_u128(ip::from_bytes(&r.ip)?), r)))
        .collect();
    let mut counts = StatusCounts::new();
    for row in rows.values() {
        count_in(&mut counts, row.status, 1);
    }
    // An IPv4 network's own and broadcast addresses are never handed out.
    let (alloc_first, alloc_last) = networks::cidr_of(net)?.allocatable();
    let mut statuses = String::with_capacity(view.size() as usize);
    let mut owners = Vec::new();
    for (i, n) in (lo..=hi).enumerate() {
        if n < alloc_first || n > alloc_last {
            statuses.push('-');
            continue;
        }
        let row = rows.get(&n);
        statuses.push(row.map_or(AddressStatus::Free, |r| r.status).letter());
        if let Some(owner) = row.map(|r| &r.owner).filter(|o| !o.is_empty()) {
            // At most 256 cells: the place always fits.
            owners.push((i as u16, owner.clone()));
        }
    }
    Ok((MapCells::Addresses { statuses, owners }, counts))
}

/// The prefix of `view`'s cells in the 128-bit space addresses are stored in.
fn stored_prefix(view: Cidr) -> u32 {
    u32::from(cell_prefix(view)) + if view.family() == 4 { 96 } else { 0 }
}

/// The grouped read behind a map of blocks: network `network_id`'s addresses in use within
/// `view`, counted by the leading bytes that tell `view`'s cells apart and by status.
pub fn block_groups(network_id: i64, view: Cidr) -> Select<address::Entity> {
    let (lo, hi) = view.range();
    let lead = Expr::cust(format!(
        "substr(ip, 1, {})",
        stored_prefix(view).div_ceil(8)
    ));
    address::Entity::find()
        .select_only()
        .column_as(lead.clone(), "lead")
        .column(address::Column::Status)
        .column_as(Expr::col(address::Column::Id).count(), "n")
        .filter(address::Column::NetworkId.eq(network_id))
        // Only addresses in use: a block's shade and marks count nothing else, and a
        // network that has a row for each of its million addresses, nearly all free, was
        // read in full on every view of its page (1.8 s). Ranges of a status index
        // instead, as many rows as are in use.
        .filter(address::Column::Status.is_in(networks::COUNTED))
        .filter(address::Column::Ip.gte(lo.to_be_bytes().to_vec()))
        .filter(address::Column::Ip.lte(hi.to_be_bytes().to_vec()))
        .group_by(lead)
        .group_by(address::Column::Status)
}

/// One cell per sub-block of `view`, with its counts from one grouped query: rows grouped
/// by the leading bytes of their address (enough bytes to tell the sub-blocks apart) and
/// by status, then added up per sub-block.
async fn block_cells(
    db: &impl ConnectionTrait,
    network_id: i64,
    view: Cidr,
) -> Result<(MapCells, StatusCounts), AppError> {
    let (lo, _) = view.range();
    let cell = cell_prefix(view);
    let stored = stored_prefix(view);
    let groups: Vec<(Vec<u8>, AddressStatus, i64)> =
        block_groups(network_id, view).into_tuple().all(db).await?;
    let count = 1usize << (cell - view.prefix());
    let shift = 128 - stored;
    let mut used = vec![0u64; count];
    let mut problems = vec![0u64; count];
    let mut counts = StatusCounts::new();
    for (lead, status, n) in groups {
        count_in(&mut counts, status, n.max(0) as u64);
        let mut full = [0u8; 16];
        let len = lead.len().min(16);
        full[..len].copy_from_slice(&lead[..len]);
        let start = u128::from_be_bytes(full);
        let Some(i) = start
            .checked_sub(lo)
            .map(|off| (off >> shift) as usize)
            .filter(|i| *i < count)
        else {
            continue;
        };
        let n = n.max(0) as u64;
        if status != AddressStatus::Free {
            used[i] += n;
        }
        if AddressStatus::PROBLEMS.contains(&status) {
            problems[i] += n;
        }
    }
    Ok((
        MapCells::Blocks {
            prefix: cell,
            used,
            problems,
        },
        counts,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn maps_step_eight_bits_down_to_blocks_of_256() {
        assert_eq!(cell_prefix(cidr("198.18.0.0/16")), 24);
        assert_eq!(cell_prefix(cidr("198.18.0.0/20")), 24);
        assert_eq!(cell_prefix(cidr("10.0.0.0/8")), 16);
        assert_eq!(cell_prefix(cidr("2001:2::/48")), 56);
        assert_eq!(cell_prefix(cidr("2001:2::/118")), 120);
        assert_eq!(parent_prefix(24, 16), 16);
        assert_eq!(parent_prefix(24, 8), 16);
        assert_eq!(parent_prefix(72, 64), 64);
    }
}
