//! A network's page, read at once: the network with a page of its addresses (and the span
//! of its addresses on record) in one statement, then its map, whose one grouped read also gives the network's counts when
//! it spans every address on record. Before, the page's three parts each read the network
//! again, and its counts and the list's total apart.

use sea_orm::ConnectionTrait;

use super::addresses::{self, Detail, ListQuery};
use super::{map, networks, sites};
use crate::error::AppError;
use crate::model::NetworkPage;

/// Network `network_id`'s page: the addresses `list` shows and the map of `block` (the
/// whole network when `None`).
pub async fn read(
    db: &impl ConnectionTrait,
    network_id: i64,
    list: &ListQuery<'_>,
    block: Option<&str>,
) -> Result<NetworkPage, AppError> {
    // The network's span only for a map of the whole network, which may start deeper.
    let whole = block.is_none_or(|b| b.trim().is_empty());
    let (net, addresses, span) =
        addresses::page_with_network(db, network_id, list, Detail::Rows, whole).await?;
    // One more read, only for a network checked by a site's agents.
    let site = match net.site_id {
        Some(id) => Some(sites::find(db, id).await?.name),
        None => None,
    };
    let (map, counts) = map::map_of(db, &net, block, span).await?;
    let network = match counts {
        Some(counts) => networks::view_counted(net, &counts)?,
        // A block of the network: its map counted only the block.
        None => networks::view(db, net).await?,
    };
    Ok(NetworkPage {
        network,
        site,
        addresses,
        map,
    })
}
